"""The agent's audio: Qt Multimedia devices bridged to pjsua2 (qt_bridge), device
choice and hot-plug (devices), echo cancellation (echo), call recording (recorder)."""
