// Node ids are shared with the agent, which does not link the model: they live in KadendeSupport.
@_exported import KadendeSupport
