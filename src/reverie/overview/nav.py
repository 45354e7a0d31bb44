from reverie.core.nav import NavItem

ITEMS = [NavItem("Overview", "overview:practice", ("admin",), order=3)]
