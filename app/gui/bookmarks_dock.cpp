// SPDX-License-Identifier: MIT
#include "gui/bookmarks_dock.h"

#include "gui/decode_controller.h"
#include "gui/session_controller.h"

#include <QAction>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

namespace specvla::app {

BookmarksDock::BookmarksDock(SessionController* session, DecodeController* decode, QWidget* parent)
    : QDockWidget(tr("Bookmarks"), parent), m_session(session), m_decode(decode) {
    setObjectName(QStringLiteral("BookmarksDock"));
    auto* body = new QWidget(this);
    auto* layout = new QVBoxLayout(body);

    m_add = new QAction(tr("Add &Bookmark"), this);
    m_add->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    m_add->setStatusTip(tr("Bookmark the current step and write a note about it"));
    connect(m_add, &QAction::triggered, this, &BookmarksDock::addAtCurrentStep);
    m_remove = new QAction(tr("&Remove Bookmark"), this);
    m_remove->setStatusTip(tr("Remove the selected bookmark"));
    connect(m_remove, &QAction::triggered, this, &BookmarksDock::removeSelected);

    auto* buttons = new QHBoxLayout;
    for (QAction* a : {m_add, m_remove}) {
        auto* b = new QToolButton(body);
        b->setDefaultAction(a);
        buttons->addWidget(b);
    }
    buttons->addStretch(1);
    layout->addLayout(buttons);

    m_table = new QTableWidget(0, 2, body);
    m_table->setObjectName(QStringLiteral("BookmarkTable"));
    m_table->setHorizontalHeaderLabels({tr("Step"), tr("Note")});
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setToolTip(tr("Double-click a step to go there; edit a note in place"));
    layout->addWidget(m_table, 2);
    connect(m_table, &QTableWidget::cellChanged, this, &BookmarksDock::onItemChanged);
    connect(m_table, &QTableWidget::cellDoubleClicked, this, [this](int row, int column) {
        if (column != 0) return;
        if (const QTableWidgetItem* item = m_table->item(row, 0))
            m_decode->setCurrentStep(item->data(Qt::UserRole).toInt());
    });

    layout->addWidget(new QLabel(tr("Session notes"), body));
    m_notes = new QPlainTextEdit(body);
    m_notes->setObjectName(QStringLiteral("SessionNotes"));
    m_notes->setPlaceholderText(tr("Notes about this session, carried into its report"));
    layout->addWidget(m_notes, 1);
    connect(m_notes, &QPlainTextEdit::textChanged, this, [this] {
        if (!m_rebuilding) m_session->setNotes(m_notes->toPlainText());
    });
    connect(m_session, &SessionController::notesChanged, this, [this](const QString& notes) {
        if (m_notes->toPlainText() == notes) return;
        m_rebuilding = true;
        m_notes->setPlainText(notes);
        m_rebuilding = false;
    });
    connect(m_session, &SessionController::bookmarksChanged, this, &BookmarksDock::rebuild);
    setWidget(body);
    rebuild();
}

void BookmarksDock::rebuild() {
    m_rebuilding = true;
    const auto& bookmarks = m_session->bookmarks();
    m_table->setRowCount(static_cast<int>(bookmarks.size()));
    for (int row = 0; row < static_cast<int>(bookmarks.size()); ++row) {
        const auto& b = bookmarks[static_cast<std::size_t>(row)];
        auto* step = new QTableWidgetItem(QString::number(b.step));
        step->setData(Qt::UserRole, b.step);
        step->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        m_table->setItem(row, 0, step);
        m_table->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(b.note)));
    }
    m_remove->setEnabled(!bookmarks.empty());
    m_rebuilding = false;
}

void BookmarksDock::onItemChanged(int row, int column) {
    if (m_rebuilding || column != 1) return;
    const QTableWidgetItem* step = m_table->item(row, 0);
    const QTableWidgetItem* note = m_table->item(row, 1);
    if (step && note) m_session->setBookmark(step->data(Qt::UserRole).toInt(), note->text());
}

void BookmarksDock::addAtCurrentStep() {
    if (m_decode->numSteps() <= 0) return;
    const int step = m_decode->currentStep();
    if (!session::findBookmark(m_session->bookmarks(), step)) m_session->setBookmark(step, QString());
    const auto& bookmarks = m_session->bookmarks();
    for (int row = 0; row < static_cast<int>(bookmarks.size()); ++row) {
        if (bookmarks[static_cast<std::size_t>(row)].step != step) continue;
        show();
        raise();
        m_table->setCurrentCell(row, 1);
        if (isVisible()) m_table->editItem(m_table->item(row, 1));
    }
}

void BookmarksDock::removeSelected() {
    const int row = m_table->currentRow();
    if (row < 0) return;
    if (const QTableWidgetItem* item = m_table->item(row, 0))
        m_session->removeBookmark(item->data(Qt::UserRole).toInt());
}

} // namespace specvla::app
