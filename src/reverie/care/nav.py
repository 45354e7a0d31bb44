from reverie.core.nav import NavItem

ITEMS = [
    NavItem("Today", "care:today", ("therapist",), order=5),
    NavItem("Caseload", "care:caseload", ("therapist",), order=10),
    NavItem("Clients", "care:clients", ("therapist", "admin"), order=15),
    NavItem("My space", "care:client_home", ("client",), order=10),
    NavItem("Alerts", "care:alerts", ("therapist", "admin"), order=20),
    NavItem("Calendar", "care:calendar", ("therapist",), order=70),
]
