from reverie.core.nav import NavItem

ITEMS = [NavItem("Audit trail", "practice:audit", ("admin",), order=90)]
