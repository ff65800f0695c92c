// placeholder for KadendeAgentTests
