// placeholder for KadendeGateway
