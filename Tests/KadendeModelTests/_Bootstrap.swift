// placeholder for KadendeModelTests
