// SPDX-License-Identifier: MIT
#pragma once

#include <QFrame>
#include <QString>

class QLabel;
class QToolButton;

namespace specvla::widgets {

// An inline, non-modal message strip (in the spirit of KMessageWidget) shown above a view. Errors go here
// rather than into modal dialogs, so the window stays usable while the message is on screen. Hidden until a
// message is shown; the text is plain (file names are never taken as markup) and selectable, so a path or
// an error can be copied.
class MessageBar : public QFrame {
    Q_OBJECT
public:
    enum class Level { Info, Warning, Error };
    Q_ENUM(Level)

    explicit MessageBar(QWidget* parent = nullptr);

    void showMessage(Level level, const QString& text);
    void showError(const QString& text) { showMessage(Level::Error, text); }
    void showWarning(const QString& text) { showMessage(Level::Warning, text); }
    void showInfo(const QString& text) { showMessage(Level::Info, text); }

    QString text() const;
    Level level() const { return m_level; }
    QToolButton* closeButton() const { return m_closeButton; }

public Q_SLOTS:
    // Hides the bar and emits closed(); does nothing when it is already hidden.
    void dismiss();

Q_SIGNALS:
    void closed();

protected:
    void paintEvent(QPaintEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    QColor accentColor() const;
    void updateIcon();

    Level m_level = Level::Info;
    QLabel* m_iconLabel = nullptr;
    QLabel* m_textLabel = nullptr;
    QToolButton* m_closeButton = nullptr;
};

} // namespace specvla::widgets
