// SPDX-License-Identifier: MIT
#include "gui/relocate_dialog.h"

#include "session/session_file.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QStyle>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace specvla::app {

namespace {

QString cleaned(const QString& path) {
    return path.trimmed().isEmpty() ? QString() : QDir::cleanPath(QDir::fromNativeSeparators(path.trimmed()));
}

QStringList components(const QString& path) {
    QStringList parts = cleaned(path).split(QLatin1Char('/'));
    while (parts.size() > 1 && parts.last().isEmpty())
        parts.removeLast();
    return parts;
}

#ifdef Q_OS_WIN
constexpr Qt::CaseSensitivity kPathCase = Qt::CaseInsensitive;
#else
constexpr Qt::CaseSensitivity kPathCase = Qt::CaseSensitive;
#endif

bool sameName(const QString& a, const QString& b) {
    return a.compare(b, kPathCase) == 0;
}

bool existsAs(const QString& path, bool folder) {
    if (path.isEmpty()) return false;
    const QFileInfo info(path);
    return folder ? info.isDir() : info.isFile();
}

// The deepest existing folder on the way to path, for the file dialog to start in.
QString nearestExistingFolder(const QString& path) {
    QFileInfo info(path);
    for (int guard = 0; guard < 256 && !path.isEmpty(); ++guard) {
        if (info.isDir()) return info.absoluteFilePath();
        const QString parent = info.absolutePath();
        if (parent == info.absoluteFilePath()) break;
        info = QFileInfo(parent);
    }
    return QDir::homePath();
}

} // namespace

QString RelocateDialog::proposeMove(const QString& oldChanged, const QString& newChanged,
                                    const QString& oldOther) {
    if (cleaned(oldChanged).isEmpty() || cleaned(newChanged).isEmpty() || cleaned(oldOther).isEmpty())
        return {};
    const QStringList a = components(oldChanged);
    const QStringList b = components(newChanged);
    const QStringList o = components(oldOther);
    // The common tail stayed; the first component (the root, or a relative path's head) never counts as tail.
    int tail = 0;
    while (tail < a.size() - 1 && tail < b.size() - 1 &&
           sameName(a.at(a.size() - 1 - tail), b.at(b.size() - 1 - tail)))
        ++tail;
    const QStringList from = a.mid(0, a.size() - tail);
    const QStringList to = b.mid(0, b.size() - tail);
    if (from.size() == to.size() && std::equal(from.begin(), from.end(), to.begin(), sameName)) return {};
    if (o.size() < from.size() || !std::equal(from.begin(), from.end(), o.begin(), sameName)) return {};
    const QString moved = (to + o.mid(from.size())).join(QLatin1Char('/'));
    return moved.isEmpty() ? QStringLiteral("/") : moved;
}

RelocateDialog::RelocateDialog(const QString& sessionPath, const QList<MissingInput>& missing,
                               QWidget* parent)
    : QDialog(parent), m_missing(missing.begin(), missing.end()), m_replacements(missing.size()),
      m_proposed(missing.size(), false) {
    setObjectName(QStringLiteral("RelocateDialog"));
    setWindowTitle(tr("Relocate Missing Files"));

    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("RelocateMessage"));
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);
    m_message->setText(tr("The session %1 names files that no longer exist. Choose where each one is now; "
                          "choosing one proposes the others when they moved together.")
                           .arg(QDir::toNativeSeparators(sessionPath)));

    m_table = new QTableWidget(rowCount(), 4, this);
    m_table->setObjectName(QStringLiteral("RelocateTable"));
    m_table->setHorizontalHeaderLabels({tr("Input"), tr("Missing"), tr("New location"), QString()});
    m_table->verticalHeader()->hide();
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->horizontalHeader()->setSectionResizeMode(OldPathColumn, QHeaderView::Stretch);
    m_table->horizontalHeader()->setSectionResizeMode(NewPathColumn, QHeaderView::Stretch);
    m_table->horizontalHeader()->setSectionResizeMode(KindColumn, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(BrowseColumn, QHeaderView::ResizeToContents);

    m_updating = true;
    for (int row = 0; row < rowCount(); ++row) {
        const MissingInput& in = m_missing.at(row);
        auto* kind = new QTableWidgetItem(in.kind);
        kind->setFlags(Qt::ItemIsEnabled);
        m_table->setItem(row, KindColumn, kind);
        auto* old = new QTableWidgetItem(QDir::toNativeSeparators(in.path));
        old->setFlags(Qt::ItemIsEnabled);
        old->setToolTip(QStringLiteral("<p>%1</p>").arg(old->text().toHtmlEscaped())); // a path is not markup
        m_table->setItem(row, OldPathColumn, old);
        // Editable, so a path can be pasted as well as browsed to.
        m_table->setItem(row, NewPathColumn, new QTableWidgetItem());
        auto* button = new QToolButton(m_table);
        button->setObjectName(QStringLiteral("RelocateBrowse%1").arg(row));
        button->setText(tr("Browse…"));
        button->setToolTip(in.isFolder ? tr("Choose the folder") : tr("Choose the file"));
        connect(button, &QToolButton::clicked, this, [this, row] { browse(row); });
        m_table->setCellWidget(row, BrowseColumn, button);
    }
    m_updating = false;
    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
        if (m_updating || item->column() != NewPathColumn) return;
        setReplacement(item->row(), item->text());
    });

    auto* buttons =
        new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, Qt::Horizontal, this);
    m_ok = buttons->button(QDialogButtonBox::Ok);
    m_ok->setText(tr("Open Session"));
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        if (allResolved()) accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_message);
    layout->addWidget(m_table, 1);
    layout->addWidget(buttons);
    resize(760, 140 + 32 * rowCount());

    for (int row = 0; row < rowCount(); ++row)
        updateRow(row);
    updateOk();
}

void RelocateDialog::setReplacement(int row, const QString& path) {
    if (row < 0 || row >= rowCount()) return;
    storeReplacement(row, path, false);
    if (isResolved(row)) {
        for (int other = 0; other < rowCount(); ++other) {
            if (other == row || isResolved(other)) continue;
            const QString proposal =
                proposeMove(m_missing.at(row).path, m_replacements.at(row), m_missing.at(other).path);
            if (existsAs(proposal, m_missing.at(other).isFolder)) storeReplacement(other, proposal, true);
        }
    }
    updateOk();
}

QString RelocateDialog::replacement(int row) const {
    return row >= 0 && row < rowCount() ? m_replacements.at(row) : QString();
}

bool RelocateDialog::isResolved(int row) const {
    return row >= 0 && row < rowCount() && existsAs(m_replacements.at(row), m_missing.at(row).isFolder);
}

bool RelocateDialog::allResolved() const {
    for (int row = 0; row < rowCount(); ++row)
        if (!isResolved(row)) return false;
    return true;
}

void RelocateDialog::applyTo(session::Session& s) const {
    for (int row = 0; row < rowCount(); ++row) {
        if (!isResolved(row)) continue;
        const QString old = cleaned(m_missing.at(row).path);
        const std::string now = QDir::toNativeSeparators(m_replacements.at(row)).toStdString();
        auto same = [&](const std::string& p) { return sameName(cleaned(QString::fromStdString(p)), old); };
        if (same(s.model)) s.model = now;
        if (s.draft && same(*s.draft)) s.draft = now;
        if (same(s.episodes)) s.episodes = now;
    }
}

QList<MissingInput> RelocateDialog::missingInputs(const session::Session& s) {
    QList<MissingInput> missing;
    auto check = [&](const QString& kind, const std::string& path, bool folder) {
        const QString p = QString::fromStdString(path);
        if (!p.isEmpty() && !QFileInfo::exists(p)) missing.append({kind, p, folder});
    };
    check(tr("Model"), s.model, true);
    if (s.draft) check(tr("Draft head"), *s.draft, true);
    check(tr("Episodes"), s.episodes, false);
    return missing;
}

void RelocateDialog::browse(int row) {
    const MissingInput& in = m_missing.at(row);
    const QString start =
        nearestExistingFolder(m_replacements.at(row).isEmpty() ? in.path : m_replacements.at(row));
    const QString title = tr("Locate %1").arg(in.kind);
    const QString path = in.isFolder ? QFileDialog::getExistingDirectory(this, title, start)
                                     : QFileDialog::getOpenFileName(this, title, start);
    if (!path.isEmpty()) setReplacement(row, path);
}

void RelocateDialog::storeReplacement(int row, const QString& path, bool proposed) {
    m_replacements[row] = cleaned(path);
    m_proposed[row] = proposed && !m_replacements.at(row).isEmpty();
    updateRow(row);
}

void RelocateDialog::updateRow(int row) {
    QTableWidgetItem* item = m_table->item(row, NewPathColumn);
    const QString path = m_replacements.at(row);
    const bool folder = m_missing.at(row).isFolder;
    const bool resolved = isResolved(row);
    QString tip;
    if (path.isEmpty())
        tip = folder ? tr("Type or browse to the folder's new location.")
                     : tr("Type or browse to the file's new location.");
    else if (resolved)
        tip = m_proposed.at(row) ? tr("Proposed: it moved like the input you chose.") : tr("Found.");
    else if (QFileInfo::exists(path))
        tip = folder ? tr("This is not a folder.") : tr("This is not a file.");
    else
        tip = tr("This does not exist.");

    m_updating = true;
    item->setText(QDir::toNativeSeparators(path));
    item->setToolTip(tip);
    item->setIcon(path.isEmpty() ? QIcon()
                                 : style()->standardIcon(resolved ? QStyle::SP_DialogApplyButton
                                                                  : QStyle::SP_MessageBoxWarning));
    QFont font = item->font();
    font.setItalic(m_proposed.at(row));
    item->setFont(font);
    m_updating = false;
}

void RelocateDialog::updateOk() {
    m_ok->setEnabled(allResolved());
}

} // namespace specvla::app
