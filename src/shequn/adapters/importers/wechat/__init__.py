"""WeChat chat exports in the CSV layout of MemoTrace / WeChatMsg."""
