// placeholder for kadende-agent
