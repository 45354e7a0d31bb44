from reverie.core.nav import NavItem

ITEMS = [
    NavItem("Questionnaires", "measures:portal", ("client",), order=20),
    NavItem("Instruments", "measures:instruments", ("therapist", "admin"), order=60),
]
