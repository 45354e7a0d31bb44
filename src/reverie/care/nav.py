from reverie.accounts.models import User
from reverie.care.access import visible_alerts
from reverie.core.nav import NavItem


def open_alerts(user: User) -> int:
    """Open alerts the person sees: the same rule as the Alerts page (current care for a
    therapist, escalations for an admin), so the count and the page always agree."""
    return visible_alerts(user).filter(acknowledged_at__isnull=True).count()


ITEMS = [
    NavItem("Today", "care:today", ("therapist",), order=5),
    NavItem("Caseload", "care:caseload", ("therapist",), order=10),
    NavItem("Clients", "care:clients", ("therapist", "admin"), order=15),
    NavItem("My space", "care:client_home", ("client",), order=10),
    NavItem("Alerts", "care:alerts", ("therapist", "admin"), order=20, badge=open_alerts),
    NavItem("Calendar", "care:calendar", ("therapist",), order=70),
]
