from reverie.core.nav import NavItem

ITEMS = [
    NavItem("Intake", "directory:intake", ("admin",), order=12),
    NavItem("My profile", "directory:profile_edit", ("therapist",), order=60),
    NavItem("Directory profiles", "directory:profiles_admin", ("admin",), order=84),
    NavItem("Front-door pages", "directory:pages_admin", ("admin",), order=85),
]
