from reverie.core.nav import NavItem

ITEMS = [
    NavItem("Outcomes", "outcomes:dashboard", ("therapist", "admin"), order=30),
    NavItem("My progress", "outcomes:my_progress", ("client",), order=20),
]
