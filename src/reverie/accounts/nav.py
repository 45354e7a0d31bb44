from reverie.core.nav import NavItem

ITEMS = [
    NavItem("People", "practice:users", ("admin",), order=10),
    NavItem("Access grants", "practice:grants", ("admin",), order=80),
    NavItem("Date format", "practice:date_format", ("admin",), order=86),
    NavItem("Outgoing mail", "practice:outgoing", ("admin",), order=88),
]
