from reverie.core.nav import NavItem

ITEMS = [
    NavItem("Sessions", "scheduling:my_sessions", ("client",), order=15),
    NavItem("Scheduling", "scheduling:requests", ("therapist",), order=45),
    NavItem("Waitlist", "scheduling:waitlist", ("admin",), order=13),
    NavItem("Scheduling", "scheduling:settings", ("admin",), order=72),
]
