// placeholder for KadendeReconcilerTests
