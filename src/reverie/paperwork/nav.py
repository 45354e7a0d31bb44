from reverie.core.nav import NavItem

ITEMS = [
    NavItem("Forms", "paperwork:mine", ("client",), order=25),
    NavItem("Paperwork", "paperwork:forms", ("admin",), order=70),
]
