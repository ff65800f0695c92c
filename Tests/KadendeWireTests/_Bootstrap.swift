// placeholder for KadendeWireTests
