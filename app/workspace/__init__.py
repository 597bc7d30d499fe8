"""The workspace: the call loop's services (controller, runtime, wrap-up, agent state, dial modes)
and attaching them to the window."""
