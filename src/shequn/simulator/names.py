"""Chinese people: real-looking names and the nicknames they show in chat.

A name is a common surname (weighted roughly by how common it is) plus a one-
or two-character given name. Nicknames follow the patterns seen in real
groups (小X, 阿X, 老王, "奔跑的蜗牛", English names, a city tag, an emoji), so
that analytics and search have to cope with what operators actually see.
"""

from __future__ import annotations

from itertools import accumulate
from random import Random


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: The most common surnames, most frequent first; the weight falls with rank.
SURNAMES = _words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 "
    "彭 曾 肖 田 董 袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 "
    "石 廖 贾 夏 韦 付 方 白 邹 孟 熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾 毛 郝 龚 邵 "
    "万 钱 严 覃 武 戴 莫 孔 向 汤 欧阳 司马 上官"
)

_GIVEN_MALE = _words(
    "伟 强 磊 军 洋 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 飞 鑫 波 宇 浩 凯 健 俊 帆 帅 旭 宁 龙 林 "
    "峰 建 亮 成 晨 博 文 轩 睿 哲 阳 昊 然 泽 宏 志 远 海 子豪 浩然 宇轩 子轩 俊杰 志强 建华 "
    "文博 天佑 一鸣 思远 明轩 嘉诚 振宇 晓东 立新 永康"
)

_GIVEN_FEMALE = _words(
    "芳 娜 敏 静 丽 艳 娟 霞 燕 玲 婷 雪 慧 颖 琳 晶 倩 璐 欣 悦 怡 佳 琪 萌 蕾 薇 瑶 楠 洁 "
    "梅 蓉 丹 红 云 晓 雯 露 诗涵 梓涵 欣怡 雨桐 可馨 思琪 佳怡 紫萱 若汐 一诺 晓燕 丽娟 "
    "婉清 梦瑶 静怡 雅婷 心怡 海燕 秀英 桂英 美玲 春梅"
)

_CITIES = _words(
    "北京 上海 广州 深圳 杭州 成都 武汉 南京 西安 重庆 苏州 长沙 天津 郑州 青岛 厦门 宁波 "
    "合肥 昆明 大连 沈阳 济南 福州 无锡 佛山 东莞 珠海 贵阳 南昌 哈尔滨"
)

_ENGLISH = _words(
    "Lily Kevin Amy Jack Tina Leo Coco Eric Vivian Tony Grace Sam Iris Mike Lucy Ryan Ella "
    "Jason Cindy Alex Nina Oscar Fiona Peter Sunny Zoe David Yuki Ada Ben"
)

_ADJECTIVES = _words(
    "奔跑的 爱喝茶的 会飞的 快乐的 安静的 努力的 早起的 失眠的 佛系的 认真的 爱笑的 "
    "不吃香菜的 熬夜的 慢慢走的 追光的 迷路的"
)

_CREATURES = _words("猫 鱼 蜗牛 兔子 小熊 考拉 刺猬 鲸 松鼠 企鹅 柠檬 橘子 土豆 大白 向日葵 仙人掌")

_NATURE = _words(
    "晴天 南风 初夏 半夏 清欢 星河 远山 微光 听雨 北辰 木子 予安 知秋 时光 浅笑 一叶 "
    "橘子汽水 一颗柠檬 不止是风 山川湖海 人间理想 岁月静好 平安喜乐 小确幸 南风知我意 "
    "一叶知秋 晚风 落日余晖 海盐 青柠 云朵 月亮 星星 小满 立夏 惊蛰 白露 清风徐来 "
    "随遇而安 慢半拍 向阳而生 心如止水 知足常乐 静待花开"
)

#: What people tack onto a borrowed word to make it theirs.
_SUFFIXES = _words("呀 吖 ya 酱 _ 🌸 ✨ 1993 2021 88 666 ~")

_EMOJI_TAGS = _words("🌸 🍀 🌈 ☀️ 🌙 ⭐ 🐱 🍊 🌻 🎈")

#: A rank-based weight (Zipf-like) so 王/李/张 dominate as they do in life.
_SURNAME_CUM = list(accumulate(1.0 / (rank + 3) for rank in range(len(SURNAMES))))


def _pick(rng: Random, items: tuple[str, ...] | list[str]) -> str:
    return items[int(rng.random() * len(items))]


def real_name(rng: Random) -> str:
    """A plausible full name: weighted surname, gendered given name of one or two characters."""
    surname = rng.choices(SURNAMES, cum_weights=_SURNAME_CUM)[0]
    given = _GIVEN_MALE if rng.random() < 0.5 else _GIVEN_FEMALE
    name = _pick(rng, given)
    if len(name) == 1 and rng.random() < 0.45:
        name += _pick(rng, given)[0]
    return surname + name


def nickname(rng: Random, name: str) -> str:
    """The display name someone picks for chat; it is derived from their name only sometimes."""
    surname = name[:2] if name[:2] in SURNAMES else name[0]
    given = name[len(surname) :]
    roll = rng.random()
    if roll < 0.12:
        return name
    if roll < 0.22:
        return "小" + given[-1]
    if roll < 0.28:
        return "阿" + given[-1]
    if roll < 0.33:
        return "老" + surname
    if roll < 0.48:
        return _pick(rng, _ADJECTIVES) + _pick(rng, _CREATURES)
    if roll < 0.58:
        english = _pick(rng, _ENGLISH)
        return english if rng.random() < 0.6 else f"{english}_{surname}"
    if roll < 0.70:
        word = _pick(rng, _NATURE)
        return word if rng.random() < 0.5 else word + _pick(rng, _SUFFIXES)
    if roll < 0.80:
        return f"{_pick(rng, _CITIES)}-{given}"
    if roll < 0.88:
        return f"{_pick(rng, _EMOJI_TAGS)}{_pick(rng, _NATURE)}"
    if roll < 0.94:
        return f"{given}{_pick(rng, ('妈妈', '爸爸', '同学', '老师', '哥', '姐'))}"
    return f"{_pick(rng, _CREATURES)}{_pick(rng, ('君', '酱', '大人', '不吃鱼', '在努力'))}"


def staff_nickname(community: str, name: str) -> str:
    """Operators show their role in their name, as "跑者联盟-小杰" does."""
    surname = name[:2] if name[:2] in SURNAMES else name[0]
    return f"{community}-小{name[len(surname) :][-1]}"


def city(rng: Random) -> str:
    return _pick(rng, _CITIES)
