// SPDX-License-Identifier: MIT
#include "gui/checkpoint_dock.h"

#include "io/checkpoint.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <exception>
#include <new>
#include <stdexcept>
#include <utility>

namespace specvla::app {

struct CheckpointDock::LoadResult {
    bool ok = false;
    QString error;
    CheckpointSummary summary;
};

namespace {

// core's messages already name the file; add the path only when they do not, so the user always learns
// which file failed without reading it twice.
QString failureMessage(const QString& path, const QString& what) {
    const QString name = QFileInfo(path).fileName();
    if (!name.isEmpty() && what.contains(name))
        return CheckpointDock::tr("Cannot open checkpoint: %1").arg(what);
    return CheckpointDock::tr("Cannot open checkpoint %1: %2").arg(path, what);
}

// "1 tensor", "3 tensors": no translator is installed, so %n plurals would print as "tensor(s)".
QString countOf(qsizetype n, const char* one, const char* many) {
    return QStringLiteral("%1 %2").arg(n).arg(QLatin1String(n == 1 ? one : many));
}

} // namespace

CheckpointDock::CheckpointDock(QWidget* parent) : QDockWidget(tr("Checkpoint"), parent) {
    setObjectName(QStringLiteral("CheckpointDock"));

    m_model = new TensorTableModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(Qt::UserRole);
    m_proxy->setFilterKeyColumn(TensorTableModel::NameColumn);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setSortCaseSensitivity(Qt::CaseInsensitive);

    auto* body = new QWidget(this);
    auto* layout = new QVBoxLayout(body);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->setSpacing(6);

    m_sourceLabel = new QLabel(tr("No checkpoint open"), body);
    m_sourceLabel->setObjectName(QStringLiteral("CheckpointSource"));
    m_sourceLabel->setTextFormat(Qt::PlainText);
    m_sourceLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont sourceFont = m_sourceLabel->font();
    sourceFont.setBold(true);
    m_sourceLabel->setFont(sourceFont);
    layout->addWidget(m_sourceLabel);

    m_filterEdit = new QLineEdit(body);
    m_filterEdit->setObjectName(QStringLiteral("CheckpointFilter"));
    m_filterEdit->setPlaceholderText(tr("Filter tensors by name, e.g. layers.0.self_attn"));
    m_filterEdit->setClearButtonEnabled(true);
    connect(m_filterEdit, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        updateSummary();
    });
    layout->addWidget(m_filterEdit);

    m_table = new QTableView(body);
    m_table->setObjectName(QStringLiteral("CheckpointTable"));
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(TensorTableModel::NameColumn, Qt::AscendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setAlternatingRowColors(true);
    // Tensor names share long prefixes ("language_model.model.") and shard names differ in their tail, so
    // elide on the left and keep what tells rows apart.
    m_table->setTextElideMode(Qt::ElideLeft);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    QHeaderView* header = m_table->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(TensorTableModel::NameColumn, QHeaderView::Stretch);
    header->setHighlightSections(false);
    const int digit = m_table->fontMetrics().horizontalAdvance(QLatin1Char('0'));
    header->resizeSection(TensorTableModel::DTypeColumn, 7 * digit);
    header->resizeSection(TensorTableModel::ShapeColumn, 14 * digit);
    header->resizeSection(TensorTableModel::BytesColumn, 10 * digit);
    header->resizeSection(TensorTableModel::ShardColumn, 21 * digit);
    layout->addWidget(m_table, 1);

    auto* copyAction = new QAction(tr("Copy Name"), m_table);
    copyAction->setShortcut(QKeySequence::Copy);
    copyAction->setShortcutContext(Qt::WidgetShortcut);
    connect(copyAction, &QAction::triggered, this, &CheckpointDock::copySelectedNames);
    m_table->addAction(copyAction);
    m_table->setContextMenuPolicy(Qt::ActionsContextMenu);

    m_summaryLabel = new QLabel(body);
    m_summaryLabel->setObjectName(QStringLiteral("CheckpointSummary"));
    m_summaryLabel->setTextFormat(Qt::PlainText);
    m_summaryLabel->setWordWrap(true);
    layout->addWidget(m_summaryLabel);

    m_focusFilterAction = new QAction(tr("Filter Tensors"), this);
    m_focusFilterAction->setShortcut(QKeySequence::Find);
    m_focusFilterAction->setStatusTip(tr("Filter the checkpoint's tensors by name"));
    connect(m_focusFilterAction, &QAction::triggered, this, [this] {
        show();
        raise();
        m_filterEdit->setFocus(Qt::ShortcutFocusReason);
        m_filterEdit->selectAll();
    });

    setWidget(body);
    updateSummary();
}

CheckpointDock::~CheckpointDock() = default; // running loads hold no pointer to this; their watchers die here

void CheckpointDock::openCheckpoint(const QString& path) {
    const quint64 generation = ++m_generation;
    m_pendingPath = path;
    updateSummary();
    Q_EMIT loadingStarted(path);

    auto* watcher = new QFutureWatcher<LoadResult>(this);
    connect(watcher, &QFutureWatcher<LoadResult>::finished, this, [this, watcher, generation] {
        watcher->deleteLater();
        finishLoad(generation, watcher->result());
    });
    // The task captures only the path: it never touches this widget, which may be gone when it ends.
    watcher->setFuture(QtConcurrent::run([path] { return load(path); }));
}

void CheckpointDock::clear() {
    ++m_generation; // drop any load in flight
    m_pendingPath.clear();
    m_summary = CheckpointSummary();
    m_model->clear();
    updateSummary();
}

void CheckpointDock::setFilterText(const QString& text) {
    m_filterEdit->setText(text);
}

CheckpointDock::LoadResult CheckpointDock::load(const QString& path) {
    // Runs on a pool thread: nothing may escape into Qt's event loop, so every exception becomes a message.
    LoadResult result;
    try {
        if (path.trimmed().isEmpty()) throw std::runtime_error("no path given");
        const io::Checkpoint checkpoint = io::Checkpoint::open(QFile::encodeName(path).toStdString());
        CheckpointSummary& s = result.summary;
        s.path = path;
        s.source = QString::fromStdString(checkpoint.source());
        s.indexPath = QString::fromStdString(checkpoint.indexPath());
        for (const std::string& shard : checkpoint.shardPaths())
            s.shardPaths << QString::fromStdString(shard);
        s.rows = TensorTableModel::rowsFromCheckpoint(checkpoint);
        s.totalBytes = checkpoint.totalBytes();
        if (const auto declared = checkpoint.declaredTotalSize())
            s.declaredTotalSize = static_cast<qint64>(*declared);
        for (const std::string& warning : checkpoint.warnings())
            s.warnings << QString::fromStdString(warning);
        result.ok = true;
    } catch (const std::bad_alloc&) {
        result.error = failureMessage(path, tr("out of memory while reading the header"));
    } catch (const std::exception& e) {
        result.error = failureMessage(path, QString::fromStdString(e.what()));
    } catch (...) {
        result.error = failureMessage(path, tr("unknown error"));
    }
    return result;
}

void CheckpointDock::finishLoad(quint64 generation, const LoadResult& result) {
    if (generation != m_generation) return; // superseded by a newer request
    const QString path = m_pendingPath;
    m_pendingPath.clear();
    if (!result.ok) {
        // Keep showing the previous checkpoint, if any: a failed open should not cost the user their view.
        updateSummary();
        Q_EMIT failed(result.error);
        return;
    }
    m_summary = result.summary;
    m_model->setTensors(m_summary.rows);
    m_summary.rows.clear(); // the model holds them; no second copy
    updateSummary();
    Q_EMIT loaded(path, m_model->rowCount());
}

void CheckpointDock::updateSummary() {
    if (!hasCheckpoint()) {
        m_sourceLabel->setText(isLoading() ? tr("Opening %1…").arg(QFileInfo(m_pendingPath).fileName())
                                           : tr("No checkpoint open"));
        m_sourceLabel->setToolTip(m_pendingPath);
        m_summaryLabel->setText(isLoading() ? tr("Reading headers…")
                                            : tr("Open a .safetensors file, an index .json or a checkpoint "
                                                 "folder (File ▸ Open Checkpoint…, or drop it here)."));
        m_summaryLabel->setToolTip(QString());
        return;
    }

    const QFileInfo info(m_summary.path);
    QString name = info.fileName();
    if (info.isDir()) name += QLatin1Char('/');
    m_sourceLabel->setText(name);
    m_sourceLabel->setToolTip(m_summary.source);

    const int total = m_model->rowCount();
    const int shown = m_proxy->rowCount();
    QStringList parts;
    parts << (shown == total ? countOf(total, "tensor", "tensors")
                             : tr("%1 of %2 shown").arg(shown).arg(countOf(total, "tensor", "tensors")));
    parts << TensorTableModel::formatBytes(m_summary.totalBytes);
    parts << countOf(m_summary.shardPaths.size(), "shard", "shards");
    parts << countOf(m_summary.warnings.size(), "warning", "warnings");
    QString text = parts.join(QStringLiteral(" · "));
    if (isLoading()) text += tr(" · opening %1…").arg(QFileInfo(m_pendingPath).fileName());
    m_summaryLabel->setText(text);
    m_summaryLabel->setToolTip(m_summary.warnings.join(QLatin1Char('\n')));
}

void CheckpointDock::copySelectedNames() {
    QStringList names;
    const QModelIndexList rows = m_table->selectionModel()->selectedRows(TensorTableModel::NameColumn);
    for (const QModelIndex& index : rows)
        names << index.data(Qt::DisplayRole).toString();
    if (!names.isEmpty()) QApplication::clipboard()->setText(names.join(QLatin1Char('\n')));
}

} // namespace specvla::app
