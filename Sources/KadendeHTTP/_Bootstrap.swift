// placeholder for KadendeHTTP
