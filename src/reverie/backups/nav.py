from reverie.core.nav import NavItem

ITEMS = [NavItem("Backups", "practice:backups", ("admin",), order=92)]
