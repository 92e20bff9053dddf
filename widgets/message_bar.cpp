// SPDX-License-Identifier: MIT
#include "message_bar.h"

#include "theme.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QStyle>
#include <QToolButton>

namespace specvla::widgets {

MessageBar::MessageBar(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("MessageBar"));
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);

    m_iconLabel = new QLabel(this);
    m_iconLabel->setAlignment(Qt::AlignTop | Qt::AlignHCenter);

    m_textLabel = new QLabel(this);
    m_textLabel->setObjectName(QStringLiteral("MessageBarText"));
    m_textLabel->setTextFormat(Qt::PlainText);
    m_textLabel->setWordWrap(true);
    m_textLabel->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    m_textLabel->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    m_textLabel->setCursor(Qt::IBeamCursor);

    m_closeButton = new QToolButton(this);
    m_closeButton->setObjectName(QStringLiteral("MessageBarClose"));
    m_closeButton->setAutoRaise(true);
    m_closeButton->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    m_closeButton->setToolTip(tr("Close message"));
    m_closeButton->setAccessibleName(tr("Close message"));
    connect(m_closeButton, &QToolButton::clicked, this, &MessageBar::dismiss);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(10, 6, 6, 6);
    layout->setSpacing(8);
    layout->addWidget(m_iconLabel, 0, Qt::AlignTop);
    layout->addWidget(m_textLabel, 1);
    layout->addWidget(m_closeButton, 0, Qt::AlignTop);

    updateIcon();
    hide();
}

void MessageBar::showMessage(Level level, const QString& text) {
    m_level = level;
    m_textLabel->setText(text);
    setAccessibleDescription(text);
    updateIcon();
    update();
    show();
}

QString MessageBar::text() const {
    return m_textLabel->text();
}

void MessageBar::dismiss() {
    if (isHidden()) return;
    hide();
    Q_EMIT closed();
}

QColor MessageBar::accentColor() const {
    const bool dark = isDark(palette());
    switch (m_level) {
    case Level::Error:
        return dark ? QColor(0xf8, 0x51, 0x49) : QColor(0xcf, 0x22, 0x2e);
    case Level::Warning:
        return dark ? QColor(0xd2, 0x99, 0x22) : QColor(0xbf, 0x87, 0x00);
    case Level::Info:
        break;
    }
    return dark ? QColor(0x58, 0xa6, 0xff) : QColor(0x09, 0x69, 0xda);
}

void MessageBar::updateIcon() {
    QStyle::StandardPixmap pixmap = QStyle::SP_MessageBoxInformation;
    if (m_level == Level::Error) pixmap = QStyle::SP_MessageBoxCritical;
    if (m_level == Level::Warning) pixmap = QStyle::SP_MessageBoxWarning;
    const int size = style()->pixelMetric(QStyle::PM_SmallIconSize, nullptr, this);
    m_iconLabel->setPixmap(style()->standardIcon(pixmap, nullptr, this).pixmap(size, size));
}

void MessageBar::paintEvent(QPaintEvent* event) {
    Q_UNUSED(event);
    // A tinted strip with an accent border, drawn from the palette so it follows theme switches without a
    // style sheet (which would fight the application palette).
    const QColor accent = accentColor();
    const QColor window = palette().color(QPalette::Window);
    const double mix = isDark(palette()) ? 0.22 : 0.12;
    const QColor fill = QColor::fromRgbF(window.redF() * (1 - mix) + accent.redF() * mix,
                                         window.greenF() * (1 - mix) + accent.greenF() * mix,
                                         window.blueF() * (1 - mix) + accent.blueF() * mix);
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QPen(accent, 1));
    painter.setBrush(fill);
    painter.drawRoundedRect(QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4);
    painter.fillRect(QRect(1, 2, 3, height() - 4), accent);
}

void MessageBar::changeEvent(QEvent* event) {
    QFrame::changeEvent(event);
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange) {
        m_closeButton->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
        updateIcon();
        update();
    }
}

} // namespace specvla::widgets
