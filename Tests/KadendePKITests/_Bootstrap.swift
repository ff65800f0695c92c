// placeholder for KadendePKITests
