"""The call-centre wing: agents in FreeSWITCH's mod_callcenter, the engine's agent-task calls."""
