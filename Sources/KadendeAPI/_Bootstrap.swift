// placeholder for KadendeAPI
