from reverie.core.nav import NavItem

ITEMS = [
    NavItem("Billing", "billing:mine", ("client",), order=26),
    NavItem("Billing", "billing:overview", ("therapist",), order=50),
    NavItem("Billing", "billing:overview", ("admin",), order=16),
    NavItem("Money reports", "billing:reports", ("admin",), order=17),
    NavItem("Fees", "billing:fees", ("admin",), order=73),
]
