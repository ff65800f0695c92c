// placeholder for KadendeEndToEndTests
