<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_GB" sourcelanguage="vi_VN">
<context>
    <name>ConfirmScreen</name>
    <message>
        <source>Kiểm tra lại thông tin đăng ký</source>
        <translation>Please check your registration</translation>
    </message>
    <message>
        <source>Họ tên:</source>
        <translation>Name:</translation>
    </message>
    <message>
        <source>Hình thức:</source>
        <translation>Visit type:</translation>
    </message>
    <message>
        <source>Khoa:</source>
        <translation>Department:</translation>
    </message>
    <message>
        <source>Nơi khám:</source>
        <translation>Where:</translation>
    </message>
    <message>
        <source>Dịch vụ:</source>
        <translation>Service:</translation>
    </message>
    <message>
        <source>Bảo hiểm:</source>
        <translation>Insurance:</translation>
    </message>
    <message>
        <source>Phí khám:</source>
        <translation>Fee:</translation>
    </message>
    <message>
        <source>Quay lại</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Xác nhận và in phiếu</source>
        <translation>Confirm and print ticket</translation>
    </message>
    <message>
        <source>Phòng {room}, tầng {floor}</source>
        <translation>Room {room}, floor {floor}</translation>
    </message>
    <message>
        <source>{amount} (giá BHYT)</source>
        <translation>{amount} (insurance price)</translation>
    </message>
    <message>
        <source>Số tiền phải trả sẽ được quầy thu ngân xác nhận.</source>
        <translation>The cashier will confirm the amount to pay.</translation>
    </message>
</context>
<context>
    <name>CountdownBar</name>
    <message>
        <source>Bạn còn ở đây không? Màn hình sẽ về trang đầu sau {seconds} giây.</source>
        <translation>Are you still there? The screen will start over in {seconds} seconds.</translation>
    </message>
    <message>
        <source>Tôi vẫn ở đây</source>
        <translation>I&apos;m still here</translation>
    </message>
</context>
<context>
    <name>DepartmentScreen</name>
    <message>
        <source>Quay lại</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Chọn khoa khám</source>
        <translation>Choose a department</translation>
    </message>
    <message>
        <source>Chưa tải được danh sách khoa. Vui lòng đến quầy tiếp đón để được hỗ trợ.</source>
        <translation>The list of departments is not available. Please go to the reception desk for help.</translation>
    </message>
    <message>
        <source>Chọn khoa bạn muốn khám</source>
        <translation>Which department do you need?</translation>
    </message>
    <message>
        <source>Chọn dịch vụ khám tại {department}</source>
        <translation>Choose a service in {department}</translation>
    </message>
    <message>
        <source>Khoa này chưa có dịch vụ khám. Vui lòng chọn khoa khác.</source>
        <translation>This department has no services yet. Please choose another department.</translation>
    </message>
    <message>
        <source>Phòng {room}, tầng {floor}</source>
        <translation>Room {room}, floor {floor}</translation>
    </message>
    <message>
        <source>Giá dịch vụ: {price}  ·  Giá BHYT: {insured}</source>
        <translation>Price: {price}  ·  With insurance: {insured}</translation>
    </message>
</context>
<context>
    <name>DoneScreen</name>
    <message>
        <source>Máy in chưa in được phiếu, nhưng số thứ tự của bạn vẫn có hiệu lực.</source>
        <translation>The ticket could not be printed, but your number is still valid.</translation>
    </message>
    <message>
        <source>Bạn có thể chụp ảnh màn hình này.</source>
        <translation>You can take a photo of this screen.</translation>
    </message>
    <message>
        <source>In lại phiếu</source>
        <translation>Print again</translation>
    </message>
    <message>
        <source>Xong</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>Đang in lại...</source>
        <translation>Printing again...</translation>
    </message>
    <message>
        <source>Đã in lại. Vui lòng lấy phiếu.</source>
        <translation>Printed. Please take your ticket.</translation>
    </message>
    <message>
        <source>Vẫn chưa in được. Hãy ghi lại số thứ tự ở trên.</source>
        <translation>Still not printed. Please write down the number above.</translation>
    </message>
    <message>
        <source>Màn hình sẽ tự đóng sau {seconds} giây để bảo vệ thông tin của bạn.</source>
        <translation>To protect your information, this screen closes in {seconds} seconds.</translation>
    </message>
    <message>
        <source>Đăng ký xong! Số thứ tự của bạn là:</source>
        <translation>You are registered! Your number is:</translation>
    </message>
    <message>
        <source>Mời bạn đến phòng {room}, tầng {floor}</source>
        <translation>Please go to room {room}, floor {floor}</translation>
    </message>
    <message>
        <source>Chờ gọi số thứ tự trước cửa phòng khám.</source>
        <translation>Wait outside the room until your number is called.</translation>
    </message>
    <message>
        <source>Hãy lấy phiếu ở khe máy in và chờ gọi số trước cửa phòng khám.</source>
        <translation>Take your ticket from the printer and wait outside the room until your number is called.</translation>
    </message>
    <message>
        <source>Số tiền cần trả tại quầy thu ngân: {amount}</source>
        <translation>To pay at the cashier: {amount}</translation>
    </message>
    <message>
        <source>Thời gian chờ dự kiến: khoảng {minutes} phút</source>
        <translation>Expected wait: about {minutes} minutes</translation>
    </message>
</context>
<context>
    <name>ErrorScreen</name>
    <message>
        <source>Chưa thực hiện được</source>
        <translation>That did not work</translation>
    </message>
    <message>
        <source>Nếu cần giúp đỡ, vui lòng đến quầy tiếp đón.</source>
        <translation>If you need help, please go to the reception desk.</translation>
    </message>
    <message>
        <source>Về màn hình chính</source>
        <translation>Start over</translation>
    </message>
    <message>
        <source>Thử lại</source>
        <translation>Try again</translation>
    </message>
    <message>
        <source>Đã có lỗi. Vui lòng chạm “Về màn hình chính” và làm lại từ đầu.</source>
        <translation>Something went wrong. Please touch “Start over” and begin again.</translation>
    </message>
</context>
<context>
    <name>IdKeypad</name>
    <message>
        <source>Số này chưa đúng. Vui lòng xem lại từng chữ số trên thẻ, sửa rồi bấm Xong.</source>
        <translation>This number is not right. Please check each digit against your card, correct it, then press Done.</translation>
    </message>
    <message>
        <source>Còn {count} chữ số.</source>
        <translation>{count} digits to go.</translation>
    </message>
    <message>
        <source>Đủ 12 chữ số. Bấm Xong.</source>
        <translation>All 12 digits typed. Press Done.</translation>
    </message>
    <message>
        <source>Nhập số CCCD</source>
        <translation>Type your ID number</translation>
    </message>
    <message>
        <source>12 chữ số in ở mặt trước thẻ, dòng “Số định danh cá nhân”. Sau đó đặt thẻ lên đầu đọc.</source>
        <translation>The 12 digits on the front of your card, on the “Personal identification number” line. Then place the card on the reader.</translation>
    </message>
    <message>
        <source>Quay lại</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Xong</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>Xoá</source>
        <translation>Delete</translation>
    </message>
    <message>
        <source>Xoá hết</source>
        <translation>Clear</translation>
    </message>
</context>
<context>
    <name>IdentifyScreen</name>
    <message>
        <source>Quay lại</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Tiếp tục không dùng chip</source>
        <translation>Continue without the chip</translation>
    </message>
    <message>
        <source>Hình ảnh từ camera</source>
        <translation>What the camera sees</translation>
    </message>
    <message>
        <source>Đang xác thực mã VNeID, vui lòng chờ</source>
        <translation>Checking your VNeID code, please wait</translation>
    </message>
    <message>
        <source>Máy đang hỏi hệ thống định danh điện tử.</source>
        <translation>The kiosk is asking the national e-ID system.</translation>
    </message>
    <message>
        <source>Việc này thường mất vài giây.</source>
        <translation>This usually takes a few seconds.</translation>
    </message>
    <message>
        <source>Đang đọc thẻ, vui lòng chờ</source>
        <translation>Reading your card, please wait</translation>
    </message>
    <message>
        <source>Giữ yên thẻ trên đầu đọc. Đừng nhấc thẻ ra.</source>
        <translation>Keep the card still on the reader. Do not lift it.</translation>
    </message>
    <message>
        <source>Việc đọc thẻ có thể mất khoảng 10 giây.</source>
        <translation>Reading the card can take about 10 seconds.</translation>
    </message>
    <message>
        <source>Đưa mã QR trên thẻ vào camera</source>
        <translation>Show the QR code on your card to the camera</translation>
    </message>
    <message>
        <source>Máy đã nhận thẻ. Để mở chip, hãy để mặt trước của thẻ (có mã QR) hướng vào camera.</source>
        <translation>The card is on the reader. To open its chip, turn the front of the card (with the QR code) towards the camera.</translation>
    </message>
    <message>
        <source>Giữ thẻ yên khoảng 1 giây.</source>
        <translation>Hold the card still for about 1 second.</translation>
    </message>
    <message>
        <source>Đã đọc mã QR. Bây giờ hãy đặt thẻ lên đầu đọc</source>
        <translation>QR code read. Now place the card on the reader</translation>
    </message>
    <message>
        <source>Đặt thẻ CCCD nằm yên trên đầu đọc để máy đọc chip.</source>
        <translation>Place your ID card flat on the reader so the chip can be read.</translation>
    </message>
    <message>
        <source>Nếu thẻ không có chip hoặc không đọc được, chạm “Tiếp tục không dùng chip”.</source>
        <translation>If your card has no chip or it cannot be read, touch “Continue without the chip”.</translation>
    </message>
    <message>
        <source>Đặt thẻ CCCD lên đầu đọc</source>
        <translation>Place your ID card on the reader</translation>
    </message>
    <message>
        <source>Đặt thẻ nằm yên trên đầu đọc, mặt có mã QR hướng lên trên. Máy sẽ tự đọc thẻ.</source>
        <translation>Lay the card flat on the reader, QR code facing up. The kiosk reads it by itself.</translation>
    </message>
    <message>
        <source>Bạn cũng có thể đưa mã QR của thẻ bảo hiểm y tế vào camera.</source>
        <translation>You can also show the QR code of your health insurance card to the camera.</translation>
    </message>
</context>
<context>
    <name>IdentityCheckScreen</name>
    <message>
        <source>Đây có phải là bạn không?</source>
        <translation>Is this you?</translation>
    </message>
    <message>
        <source>Ngày sinh:</source>
        <translation>Date of birth:</translation>
    </message>
    <message>
        <source>Giới tính:</source>
        <translation>Sex:</translation>
    </message>
    <message>
        <source>Số CCCD:</source>
        <translation>ID number:</translation>
    </message>
    <message>
        <source>Không phải tôi</source>
        <translation>This is not me</translation>
    </message>
    <message>
        <source>Đúng, tiếp tục</source>
        <translation>Yes, continue</translation>
    </message>
    <message>
        <source>Không có ảnh</source>
        <translation>No photo</translation>
    </message>
</context>
<context>
    <name>IdleScreen</name>
    <message>
        <source>Xin chào! Mời bạn đăng ký khám bệnh</source>
        <translation>Welcome! Check in for your visit here</translation>
    </message>
    <message>
        <source>Đặt thẻ CCCD lên đầu đọc hoặc đưa mã QR vào camera</source>
        <translation>Place your ID card on the reader or show its QR code to the camera</translation>
    </message>
    <message>
        <source>Bắt đầu</source>
        <translation>Start</translation>
    </message>
</context>
<context>
    <name>Insurance</name>
    <message>
        <source>Thẻ bảo hiểm y tế hợp lệ</source>
        <translation>Your health insurance card is valid</translation>
    </message>
    <message>
        <source>Thẻ bảo hiểm y tế hợp lệ (bạn đã có thẻ mới)</source>
        <translation>Your health insurance is valid (a new card has been issued)</translation>
    </message>
    <message>
        <source>Thẻ bảo hiểm y tế đã hết hạn</source>
        <translation>Your health insurance card has expired</translation>
    </message>
    <message>
        <source>Không tìm thấy thẻ bảo hiểm y tế: khám dịch vụ</source>
        <translation>No health insurance found: you will pay the full fee</translation>
    </message>
    <message>
        <source>Thông tin bảo hiểm chưa khớp: cần kiểm tra tại quầy</source>
        <translation>Your insurance details do not match: the desk will check them</translation>
    </message>
    <message>
        <source>Bảo hiểm cần kiểm tra tại quầy</source>
        <translation>Your insurance needs to be checked at the desk</translation>
    </message>
    <message>
        <source>Chưa kiểm tra được bảo hiểm: sẽ kiểm tra tại quầy</source>
        <translation>Insurance could not be checked now: the desk will check it</translation>
    </message>
</context>
<context>
    <name>InsuranceScreen</name>
    <message>
        <source>Việc này có thể mất vài giây.</source>
        <translation>This can take a few seconds.</translation>
    </message>
    <message>
        <source>Mã thẻ:</source>
        <translation>Card number:</translation>
    </message>
    <message>
        <source>Hạn thẻ đến:</source>
        <translation>Valid until:</translation>
    </message>
    <message>
        <source>Quay lại</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Tiếp tục</source>
        <translation>Continue</translation>
    </message>
    <message>
        <source>Tiếp tục ({seconds})</source>
        <translation>Continue ({seconds})</translation>
    </message>
    <message>
        <source>Máy sẽ tự chuyển sang bước tiếp theo sau {seconds} giây.</source>
        <translation>The kiosk goes on to the next step by itself in {seconds} seconds.</translation>
    </message>
    <message>
        <source>Đang kiểm tra bảo hiểm y tế</source>
        <translation>Checking your health insurance</translation>
    </message>
    <message>
        <source>Kết quả kiểm tra bảo hiểm y tế</source>
        <translation>Your health insurance</translation>
    </message>
</context>
<context>
    <name>NoticeBar</name>
    <message>
        <source>Chưa thực hiện được. Vui lòng thử lại, hoặc đến quầy tiếp đón nếu vẫn không được.</source>
        <translation>That did not work. Please try again, or go to the reception desk if it still does not work.</translation>
    </message>
</context>
<context>
    <name>PaymentPanel</name>
    <message>
        <source>Đã nhận {amount}. Cảm ơn bạn!</source>
        <translation>{amount} received. Thank you!</translation>
    </message>
    <message>
        <source>Bạn không cần trả tiền ở quầy thu ngân nữa.</source>
        <translation>You do not need to pay at the cashier.</translation>
    </message>
    <message>
        <source>Trả {amount} bằng điện thoại</source>
        <translation>Pay {amount} by phone</translation>
    </message>
    <message>
        <source>Mở ứng dụng ngân hàng và quét mã này. Mã cũng có trên phiếu.</source>
        <translation>Open your banking app and scan this code. It is also on your ticket.</translation>
    </message>
    <message>
        <source>Hoặc trả tại quầy thu ngân.</source>
        <translation>Or pay at the cashier.</translation>
    </message>
</context>
<context>
    <name>PrintingScreen</name>
    <message>
        <source>Số thứ tự của bạn</source>
        <translation>Your number</translation>
    </message>
    <message>
        <source>Vui lòng chờ trong giây lát</source>
        <translation>Please wait a moment</translation>
    </message>
</context>
<context>
    <name>Progress</name>
    <message>
        <source>Đang kết nối với thẻ...</source>
        <translation>Connecting to the card...</translation>
    </message>
    <message>
        <source>Đang mở ứng dụng trên chip...</source>
        <translation>Opening the chip...</translation>
    </message>
    <message>
        <source>Đang mở khóa chip an toàn...</source>
        <translation>Unlocking the chip securely...</translation>
    </message>
    <message>
        <source>Đang đọc thông tin thẻ...</source>
        <translation>Reading the card details...</translation>
    </message>
    <message>
        <source>Đang đọc thông tin cá nhân...</source>
        <translation>Reading your personal details...</translation>
    </message>
    <message>
        <source>Đang đọc ảnh chân dung...</source>
        <translation>Reading your photo...</translation>
    </message>
    <message>
        <source>Đang kiểm tra thẻ thật hay giả...</source>
        <translation>Checking that the card is genuine...</translation>
    </message>
    <message>
        <source>Đang đọc mã QR...</source>
        <translation>Reading the QR code...</translation>
    </message>
    <message>
        <source>Đang xác thực mã VNeID...</source>
        <translation>Checking the VNeID code...</translation>
    </message>
    <message>
        <source>Đang kiểm tra thẻ bảo hiểm y tế...</source>
        <translation>Checking your health insurance...</translation>
    </message>
    <message>
        <source>Đang đăng ký lượt khám...</source>
        <translation>Registering your visit...</translation>
    </message>
    <message>
        <source>Đang in phiếu số thứ tự...</source>
        <translation>Printing your ticket...</translation>
    </message>
    <message>
        <source>Đang xử lý, vui lòng chờ...</source>
        <translation>Working on it, please wait...</translation>
    </message>
    <message>
        <source>Đang đọc thẻ...</source>
        <translation>Reading the card...</translation>
    </message>
</context>
<context>
    <name>Screen</name>
    <message>
        <source>Còn nữa ở bên dưới: kéo màn hình lên để xem thêm.</source>
        <translation>There is more below: drag the screen up to see it.</translation>
    </message>
</context>
<context>
    <name>SimulatorPanel</name>
    <message>
        <source>Thẻ mẫu (demo)</source>
        <translation>Sample cards (demo)</translation>
    </message>
    <message>
        <source>Mô phỏng thẻ CCCD (demo)</source>
        <translation>ID card simulator (demo)</translation>
    </message>
    <message>
        <source>Đặt thẻ CCCD</source>
        <translation>Place ID card</translation>
    </message>
    <message>
        <source>Mã VNeID</source>
        <translation>VNeID code</translation>
    </message>
    <message>
        <source>VNeID</source>
        <translation>VNeID</translation>
    </message>
    <message>
        <source>Nhấc thẻ</source>
        <translation>Lift card</translation>
    </message>
    <message>
        <source>Phím 1–4: đặt thẻ mẫu 1–4. Phím 0: nhấc thẻ.</source>
        <translation>Keys 1–4: place sample card 1–4. Key 0: lift the card.</translation>
    </message>
</context>
<context>
    <name>Technician</name>
    <message>
        <source>Đầu đọc</source>
        <translation>Readers</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Camera</translation>
    </message>
    <message>
        <source>Máy in</source>
        <translation>Printer</translation>
    </message>
    <message>
        <source>Máy chủ</source>
        <translation>Hub</translation>
    </message>
    <message>
        <source>Cấu hình</source>
        <translation>Settings</translation>
    </message>
    <message>
        <source>Hàng đợi gửi</source>
        <translation>Outbox</translation>
    </message>
    <message>
        <source>Nhật ký</source>
        <translation>Logs</translation>
    </message>
    <message>
        <source>Thoát</source>
        <translation>Exit</translation>
    </message>
    <message>
        <source>Đầu đọc thẻ</source>
        <translation>Card readers</translation>
    </message>
    <message>
        <source>Đọc thử thẻ</source>
        <translation>Test read</translation>
    </message>
    <message>
        <source>Đầu đọc:</source>
        <translation>Readers:</translation>
    </message>
    <message>
        <source>thẻ đặt vào</source>
        <translation>card placed</translation>
    </message>
    <message>
        <source>thẻ nhấc ra</source>
        <translation>card removed</translation>
    </message>
    <message>
        <source>Sự kiện thẻ (mới nhất trước):</source>
        <translation>Card events (newest first):</translation>
    </message>
    <message>
        <source>(chưa có)</source>
        <translation>(none yet)</translation>
    </message>
    <message>
        <source>Đang đọc thử…</source>
        <translation>Reading…</translation>
    </message>
    <message>
        <source>Đọc thử được: chip trả lời đúng chuẩn ICAO 9303.</source>
        <translation>Test read OK: the chip answers as ICAO 9303 requires.</translation>
    </message>
    <message>
        <source>Không có thẻ trên đầu đọc. Đặt một thẻ CCCD rồi thử lại.</source>
        <translation>No card on the reader. Place a CCCD card and try again.</translation>
    </message>
    <message>
        <source>Đầu đọc đang bận: máy đang đọc thẻ của người bệnh. Chờ một lát rồi đọc thử lại.</source>
        <translation>The reader is busy: a patient&apos;s card is being read. Wait a moment, then test read again.</translation>
    </message>
    <message>
        <source>Thẻ trả lời {sw}: không phải chip CCCD.</source>
        <translation>The card answered {sw}: not a CCCD chip.</translation>
    </message>
    <message>
        <source>Đọc thử lỗi: {code}</source>
        <translation>Test read failed: {code}</translation>
    </message>
    <message>
        <source>không hợp lệ</source>
        <translation>invalid</translation>
    </message>
    <message>
        <source>Không có camera (camera.backend = none).</source>
        <translation>No camera (camera.backend = none).</translation>
    </message>
    <message>
        <source>Đang chờ hình…</source>
        <translation>Waiting for a picture…</translation>
    </message>
    <message>
        <source>Camera chưa gửi hình.</source>
        <translation>The camera has sent no picture yet.</translation>
    </message>
    <message>
        <source>Thấy mã QR: {kinds}</source>
        <translation>QR code seen: {kinds}</translation>
    </message>
    <message>
        <source>Tỉ lệ giải mã: {percent}% ({frames} khung gần nhất)</source>
        <translation>Decode rate: {percent}% (last {frames} frames)</translation>
    </message>
    <message>
        <source>In trang thử</source>
        <translation>Print test page</translation>
    </message>
    <message>
        <source>Kiểm tra trạng thái</source>
        <translation>Check status</translation>
    </message>
    <message>
        <source>Trạng thái: đang kiểm tra…</source>
        <translation>Status: checking…</translation>
    </message>
    <message>
        <source>sẵn sàng</source>
        <translation>ready</translation>
    </message>
    <message>
        <source>không kết nối được</source>
        <translation>not connected</translation>
    </message>
    <message>
        <source>hết giấy</source>
        <translation>out of paper</translation>
    </message>
    <message>
        <source>nắp đang mở</source>
        <translation>cover open</translation>
    </message>
    <message>
        <source>chưa sẵn sàng</source>
        <translation>not ready</translation>
    </message>
    <message>
        <source>Trạng thái: {status}</source>
        <translation>Status: {status}</translation>
    </message>
    <message>
        <source>sắp hết giấy</source>
        <translation>paper low</translation>
    </message>
    <message>
        <source>Đang in…</source>
        <translation>Printing…</translation>
    </message>
    <message>
        <source>Đã in trang thử.</source>
        <translation>Test page printed.</translation>
    </message>
    <message>
        <source>Không in được: {error}</source>
        <translation>Not printed: {error}</translation>
    </message>
    <message>
        <source>Máy chủ (hub)</source>
        <translation>Hub server</translation>
    </message>
    <message>
        <source>Địa chỉ (https://…)</source>
        <translation>Address (https://…)</translation>
    </message>
    <message>
        <source>Mã kiosk</source>
        <translation>Kiosk ID</translation>
    </message>
    <message>
        <source>Khoá bí mật (để trống: giữ khoá cũ khi kiểm tra)</source>
        <translation>Secret (empty: test with the current one)</translation>
    </message>
    <message>
        <source>Kiểm tra kết nối</source>
        <translation>Test connection</translation>
    </message>
    <message>
        <source>Lưu</source>
        <translation>Save</translation>
    </message>
    <message>
        <source>Đang dùng: {backend} · {url} · kiosk {kiosk}</source>
        <translation>In use: {backend} · {url} · kiosk {kiosk}</translation>
    </message>
    <message>
        <source>Đang kết nối…</source>
        <translation>Connecting…</translation>
    </message>
    <message>
        <source>Máy chủ từ chối: {error}</source>
        <translation>The hub refused: {error}</translation>
    </message>
    <message>
        <source>Kết nối được, máy chủ chấp nhận kiosk này.</source>
        <translation>Connected; the hub accepts this kiosk.</translation>
    </message>
    <message>
        <source>Không kết nối được máy chủ. Kiểm tra địa chỉ và mạng.</source>
        <translation>Cannot reach the hub. Check the address and the network.</translation>
    </message>
    <message>
        <source>Chưa lưu: {error}</source>
        <translation>Not saved: {error}</translation>
    </message>
    <message>
        <source>Đã lưu. Khởi động lại ứng dụng để dùng cấu hình mới.</source>
        <translation>Saved. Restart the application to use the new settings.</translation>
    </message>
    <message>
        <source>Kiểm tra và lưu</source>
        <translation>Check and save</translation>
    </message>
    <message>
        <source>Khởi động lại ứng dụng</source>
        <translation>Restart application</translation>
    </message>
    <message>
        <source>Mỗi thay đổi được kiểm tra trước khi ghi vào tệp cấu hình.</source>
        <translation>Each change is checked before it is written to the configuration file.</translation>
    </message>
    <message>
        <source>Ứng dụng chạy không có tệp cấu hình (--config): chỉ xem.</source>
        <translation>The application runs without a configuration file (--config): view only.</translation>
    </message>
    <message>
        <source>Không hợp lệ, chưa lưu: {error}</source>
        <translation>Invalid, not saved: {error}</translation>
    </message>
    <message>
        <source>Hàng đợi gửi (outbox)</source>
        <translation>Outbox</translation>
    </message>
    <message>
        <source>Gửi ngay</source>
        <translation>Send now</translation>
    </message>
    <message>
        <source>Làm mới</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <source>đã kết nối</source>
        <translation>connected</translation>
    </message>
    <message>
        <source>mất kết nối</source>
        <translation>offline</translation>
    </message>
    <message>
        <source>Chờ gửi: {pending} · bị từ chối: {rejected} · máy chủ: {state}</source>
        <translation>Pending: {pending} · rejected: {rejected} · hub: {state}</translation>
    </message>
    <message>
        <source>Bị từ chối (lý do):</source>
        <translation>Rejected (reason):</translation>
    </message>
    <message>
        <source>Đã yêu cầu gửi ngay.</source>
        <translation>Sending requested.</translation>
    </message>
    <message>
        <source>Xuất nhật ký gần đây và nhật ký kỹ thuật. Số giấy tờ và mã thẻ được che.</source>
        <translation>Export the recent log and the technician audit log. ID numbers and card codes are masked.</translation>
    </message>
    <message>
        <source>Xuất nhật ký</source>
        <translation>Export logs</translation>
    </message>
    <message>
        <source>Không xuất được: {error}</source>
        <translation>Not exported: {error}</translation>
    </message>
    <message>
        <source>Đã xuất: {path}</source>
        <translation>Exported: {path}</translation>
    </message>
</context>
<context>
    <name>TechnicianPin</name>
    <message>
        <source>Đang kiểm tra…</source>
        <translation>Checking…</translation>
    </message>
    <message>
        <source>Nhập mã PIN kỹ thuật rồi bấm OK.</source>
        <translation>Enter the technician PIN, then press OK.</translation>
    </message>
    <message>
        <source>Chưa đặt mã PIN. Đặt bằng lệnh: kiosk set-technician-pin</source>
        <translation>No PIN is set. Set one with: kiosk set-technician-pin</translation>
    </message>
    <message>
        <source>Sai quá nhiều lần. Thử lại sau {minutes} phút.</source>
        <translation>Too many wrong tries. Try again in {minutes} minutes.</translation>
    </message>
    <message>
        <source>Sai mã PIN. Còn {count} lần thử.</source>
        <translation>Wrong PIN. {count} tries left.</translation>
    </message>
    <message>
        <source>Chế độ kỹ thuật</source>
        <translation>Technician mode</translation>
    </message>
    <message>
        <source>Xoá</source>
        <translation>Delete</translation>
    </message>
    <message>
        <source>Quay lại</source>
        <translation>Back</translation>
    </message>
</context>
<context>
    <name>TopBar</name>
    <message>
        <source>● Đã kết nối</source>
        <translation>● Online</translation>
    </message>
    <message>
        <source>● Đang gửi {count} phiếu</source>
        <translation>● Sending {count} registrations</translation>
    </message>
    <message>
        <source>Mất mạng · {count} phiếu chờ gửi</source>
        <translation>Offline · {count} waiting to send</translation>
    </message>
    <message>
        <source>Mất mạng</source>
        <translation>Offline</translation>
    </message>
    <message>
        <source>Chữ nhỏ lại</source>
        <translation>Smaller text</translation>
    </message>
    <message>
        <source>Chữ to hơn</source>
        <translation>Larger text</translation>
    </message>
</context>
<context>
    <name>Verification</name>
    <message>
        <source>Thẻ thật: đã kiểm tra chữ ký số trên chip</source>
        <translation>Genuine card: the chip&apos;s digital signature was checked</translation>
    </message>
    <message>
        <source>Đã đọc chip trên thẻ CCCD</source>
        <translation>The ID card chip was read</translation>
    </message>
    <message>
        <source>Chưa xác thực chip: nhân viên sẽ kiểm tra thẻ của bạn</source>
        <translation>Chip not verified: staff will check your card</translation>
    </message>
    <message>
        <source>Không xác thực được thẻ: vui lòng đến quầy tiếp đón</source>
        <translation>The card could not be verified: please go to the reception desk</translation>
    </message>
    <message>
        <source>Đã xác thực qua ứng dụng VNeID</source>
        <translation>Verified through the VNeID app</translation>
    </message>
</context>
<context>
    <name>VisitType</name>
    <message>
        <source>Khám mới</source>
        <translation>New visit</translation>
    </message>
    <message>
        <source>Lần đầu khám cho bệnh này</source>
        <translation>First visit for this illness</translation>
    </message>
    <message>
        <source>Tái khám</source>
        <translation>Follow-up visit</translation>
    </message>
    <message>
        <source>Bác sĩ đã hẹn bạn khám lại (có giấy hẹn)</source>
        <translation>Your doctor asked you to come back (appointment paper)</translation>
    </message>
    <message>
        <source>Chuyển tuyến</source>
        <translation>Referral</translation>
    </message>
    <message>
        <source>Có giấy chuyển tuyến từ bệnh viện hoặc trạm y tế khác</source>
        <translation>You have a referral paper from another hospital or health station</translation>
    </message>
</context>
<context>
    <name>VisitTypeScreen</name>
    <message>
        <source>Bạn đến khám theo hình thức nào?</source>
        <translation>What kind of visit is this?</translation>
    </message>
    <message>
        <source>Tái khám hoặc chuyển tuyến: nhớ mang theo giấy hẹn hoặc giấy chuyển tuyến.</source>
        <translation>Follow-up or referral: remember to bring your appointment or referral paper.</translation>
    </message>
    <message>
        <source>Quay lại</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Tôi có lịch hẹn tái khám</source>
        <translation>I have a re-examination appointment</translation>
    </message>
    <message>
        <source>Tôi có giấy chuyển tuyến</source>
        <translation>I have a referral paper</translation>
    </message>
</context>
</TS>
