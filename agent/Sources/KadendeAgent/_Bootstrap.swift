// placeholder for KadendeAgent
