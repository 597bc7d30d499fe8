"""The TL's screens (班组监控) and the agent's side of floor control."""
