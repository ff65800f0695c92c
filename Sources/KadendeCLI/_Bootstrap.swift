// placeholder for KadendeCLI
