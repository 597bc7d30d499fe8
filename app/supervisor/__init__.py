"""Supervisor mode (班组监控): the TL's live board and floor control, and the agent's side of it."""
