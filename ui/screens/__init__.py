"""One screen per step of the check-in flow."""

from __future__ import annotations

from kiosk.flow import Step
from ui.screens.base import Screen
from ui.screens.confirm import ConfirmScreen
from ui.screens.department import DepartmentScreen
from ui.screens.done import DoneScreen
from ui.screens.error import ErrorScreen
from ui.screens.identify import IdentifyScreen
from ui.screens.identity_check import IdentityCheckScreen
from ui.screens.idle import IdleScreen
from ui.screens.insurance import InsuranceScreen
from ui.screens.printing import PrintingScreen
from ui.screens.visit_type import VisitTypeScreen

SCREENS: dict[Step, type[Screen]] = {
    cls.step: cls
    for cls in (
        IdleScreen,
        IdentifyScreen,
        IdentityCheckScreen,
        InsuranceScreen,
        VisitTypeScreen,
        DepartmentScreen,
        ConfirmScreen,
        PrintingScreen,
        DoneScreen,
        ErrorScreen,
    )
}

__all__ = ["SCREENS", "Screen"]
