"""Words too common in chat to say what a group talks about (Chinese and English).

A curated list rather than a general-purpose one: besides function words it
holds chat's own fillers (哈哈, 收到, 谢谢分享, 打卡…), which would otherwise top
every group's week.
"""

from __future__ import annotations

_ZH = """
的 了 在 是 我 有 和 就 不 人 都 一 一个 上 也 很 到 说 要 去 你 会 着 没有 看 好 自己 这
那 他 她 它 我们 你们 他们 她们 它们 大家 咱们 自己 别人 什么 怎么 怎样 怎么样 为什么
为啥 如何 哪里 哪个 哪些 这个 那个 这些 那些 这样 那样 这么 那么 这里 那里 这边 那边 这种
那种 一下 一些 一点 一起 一样 一直 可以 可能 应该 能够 需要 觉得 知道 感觉 认为 希望 还是
就是 但是 因为 所以 如果 虽然 然后 而且 或者 已经 现在 今天 明天 昨天 今年 去年 明年 时候
时间 刚刚 刚才 之前 之后 以后 以前 最近 马上 一会 每天
终于 学了 继续 适合 一般 好多 推荐 这篇 真的 其实 确实 当然 非常 特别 比较
有点 有些 还有 没有 不是 不会 不要 不能 不用 不错 好的 好吧 对的 谢谢 感谢 多谢 谢谢分享
感谢分享 分享 收到 好滴 嗯嗯 哈哈 哈哈哈 哈哈哈哈 呵呵 嘿嘿 嘻嘻 哇 哦 啊 呀 吧 吗 呢 欢迎
大佬 老师 同学 朋友 各位 小伙伴 打卡 早安 晚安 早上好 晚上好 中午好 下午好 加油 厉害 牛
赞 点赞 学到 学到了 同感 同意 支持 一次 两个 几个 很多 太多 有人 没人 之类 等等 以及 关于
对于 通过 进行 开始 出来 起来 过来 下来 上去 回来 东西 事情 问题 地方 方面 情况 部分 可是
只是 只有 还要 还能 还会 又 再 让 把 被 给 跟 对 从 向 为 于 与 及 等 之 其 此 该 每 某
各 啥 咋 嘛 么 呗 啦 咯 哎 唉 嗯 哼 耶 一个人 一年 一天 一周 这次 那次 上次 下次 这周
下周 上周 周末 今晚 明晚 晚上 早上 中午 下午
"""

_EN = """
the and for are but not you all any can had her was one our out has him his how its may new now
old see two way who did get let put say she too use that with have this will your from they know
want been good much some time very when come here just like long make many more only over such
take than them well were what would there their about which could other into then these those
also because should still even every after before being both each few most same own while where
why yes okay thanks thank lol haha please just really
"""

STOPWORDS: frozenset[str] = frozenset(_ZH.split()) | frozenset(_EN.split())
