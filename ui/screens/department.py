"""Choose a department, then a service of it with its price.

Both lists come from the hub's reference data (`state.reference`), names in
the current language. The flow stays in DEPARTMENT until a service is
chosen; a department with a single service skips the second list (the desk
chooses it). "Quay lại" from the services goes back to the departments on
this screen, because that is what the patient just saw.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QWidget

from kiosk.domain import Department, ReferenceData, Service
from kiosk.flow import FlowState, Step
from kiosk.ticket import format_vnd
from ui.i18n import translate
from ui.screens.base import Screen
from ui.screens.words import room_and_floor
from ui.widgets import TileButton, label


class DepartmentScreen(Screen):
    step = Step.DEPARTMENT

    def build(self) -> None:
        self.notice = label("lead")
        self.body_layout.addWidget(self.notice)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(20)
        self.body_layout.addWidget(self.grid_host)
        self.body_layout.addStretch(1)
        self.tiles: list[TileButton] = []
        # True while the patient looks at the departments again after having
        # chosen one (the flow still holds that choice).
        self._browsing = False

        self.back = self.action("", self._on_back)
        self.footer.addWidget(self.back)
        self.footer.addStretch(1)

    def retranslate(self) -> None:
        self.back.setText(translate("DepartmentScreen", "Quay lại"))

    # -- actions ----------------------------------------------------------------------

    def _on_back(self) -> None:
        state = self.state
        if state is not None and state.session.department is not None and not self._browsing:
            self._browsing = True
            self.show_state(state)
            return
        self.desk.back()

    def _choose_department(self, code: str) -> None:
        self._browsing = False
        self.desk.choose_department(code)

    # -- drawing ----------------------------------------------------------------------

    def _clear_tiles(self) -> None:
        for tile in self.tiles:
            self.grid.removeWidget(tile)
            tile.hide()
            tile.deleteLater()
        self.tiles = []

    def _add_tile(self, title: str, detail: str, slot, columns: int, name: str) -> None:  # noqa: ANN001
        tile = TileButton(title, detail)
        tile.setObjectName(name)
        tile.setMinimumHeight(int(1.2 * self.metrics.touch_px))
        tile.clicked.connect(slot)
        index = len(self.tiles)
        self.grid.addWidget(tile, index // columns, index % columns)
        self.tiles.append(tile)
        # Equal columns whatever the names: a grid, not a ragged list.
        for column in range(self.grid.columnCount()):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)

    def show_state(self, state: FlowState) -> None:
        self._clear_tiles()
        reference = state.reference
        if reference is None or not reference.departments:
            self.title.setText(translate("DepartmentScreen", "Chọn khoa khám"))
            self.notice.setText(
                translate(
                    "DepartmentScreen",
                    "Chưa tải được danh sách khoa. Vui lòng đến quầy tiếp đón để được hỗ trợ.",
                )
            )
            self.notice.show()
            return
        self.notice.hide()
        chosen = state.session.department
        if chosen is not None and not self._browsing:
            self._show_services(reference, chosen)
        else:
            self._show_departments(reference)

    def _show_departments(self, reference: ReferenceData) -> None:
        self.title.setText(translate("DepartmentScreen", "Chọn khoa bạn muốn khám"))
        for dept in reference.departments:
            self._add_tile(
                self.tr_data(dept.name_vi, dept.name_en),
                self._where(dept),
                lambda _=False, code=dept.code: self._choose_department(code),
                self._columns(len(reference.departments)),
                f"department-{dept.code}",
            )

    def _show_services(self, reference: ReferenceData, dept: Department) -> None:
        self.title.setText(
            translate("DepartmentScreen", "Chọn dịch vụ khám tại {department}").format(
                department=self.tr_data(dept.name_vi, dept.name_en)
            )
        )
        services = reference.services_of(dept.code)
        if not services:
            self.notice.setText(
                translate("DepartmentScreen", "Khoa này chưa có dịch vụ khám. Vui lòng chọn khoa khác.")
            )
            self.notice.show()
        for service in services:
            self._add_tile(
                self.tr_data(service.name_vi, service.name_en),
                self._prices(service),
                lambda _=False, code=service.code: self.desk.choose_service(code),
                1,
                f"service-{service.code}",
            )

    @staticmethod
    def _columns(count: int) -> int:
        # Two wide columns while they fit on one screen; three for a larger
        # hospital. More would squeeze "Phòng 101, tầng 1" onto two lines;
        # beyond that the list scrolls and the screen says so.
        return 2 if count <= 6 else 3

    def _where(self, dept: Department) -> str:
        room, floor = room_and_floor(dept)
        return translate("DepartmentScreen", "Phòng {room}, tầng {floor}").format(room=room, floor=floor)

    def _prices(self, service: Service) -> str:
        return translate("DepartmentScreen", "Giá dịch vụ: {price}  ·  Giá BHYT: {insured}").format(
            price=format_vnd(service.price), insured=format_vnd(service.insured_price)
        )

    def wipe(self) -> None:
        self._clear_tiles()
        self._browsing = False
        self.notice.clear()
