// placeholder for KadendeCoordinator
