// placeholder for kadende
