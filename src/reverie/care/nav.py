from reverie.core.nav import NavItem

ITEMS = [
    NavItem("Caseload", "care:caseload", ("therapist",), order=10),
    NavItem("My space", "care:client_home", ("client",), order=10),
    NavItem("Alerts", "care:alerts", ("therapist", "admin"), order=20),
]
