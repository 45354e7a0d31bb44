from reverie.core.nav import NavItem

ITEMS = [
    NavItem("Retention", "lifecycle:retention", ("admin",), order=80),
]
