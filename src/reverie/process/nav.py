from reverie.core.nav import NavItem

ITEMS = [
    NavItem("My technique", "process:my_profile", ("therapist",), order=40),
    NavItem("Journal", "process:journal", ("client",), order=20),
    NavItem("CCRT categories", "process:category_sets", ("admin",), order=80),
]
