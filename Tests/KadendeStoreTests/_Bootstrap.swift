// placeholder for KadendeStoreTests
