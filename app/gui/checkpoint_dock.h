// SPDX-License-Identifier: MIT
#pragma once

#include "gui/tensor_table_model.h"

#include <QDockWidget>
#include <QString>
#include <QStringList>

class QAction;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace specvla::app {

// What the inspector knows about an opened checkpoint: a value snapshot built in the worker thread.
struct CheckpointSummary {
    QString path;      // as passed to openCheckpoint()
    QString source;    // what core opened
    QString indexPath; // empty for a single file
    QStringList shardPaths;
    QVector<TensorRow> rows;
    quint64 totalBytes = 0;
    qint64 declaredTotalSize = -1; // the index's metadata.total_size, -1 when absent
    QStringList warnings;
};

// The "Checkpoint" dock: a filterable, sortable table of a safetensors checkpoint's tensors and a summary
// line. Opening reads headers only and runs on the global thread pool, so the UI thread stays free even on
// slow disks; the newest request wins and results of superseded ones are dropped.
class CheckpointDock : public QDockWidget {
    Q_OBJECT
public:
    explicit CheckpointDock(QWidget* parent = nullptr);
    ~CheckpointDock() override;

    // A .safetensors file, an index .json, or a folder holding either. Returns at once; loaded() or failed()
    // follows.
    void openCheckpoint(const QString& path);
    void clear();

    bool isLoading() const { return !m_pendingPath.isEmpty(); }
    bool hasCheckpoint() const { return !m_summary.path.isEmpty(); }
    const CheckpointSummary& summary() const { return m_summary; }

    TensorTableModel* model() const { return m_model; }
    QSortFilterProxyModel* proxyModel() const { return m_proxy; }
    QTableView* tableView() const { return m_table; }
    QLineEdit* filterEdit() const { return m_filterEdit; }
    QLabel* summaryLabel() const { return m_summaryLabel; }
    QAction* focusFilterAction() const { return m_focusFilterAction; }

    void setFilterText(const QString& text);

Q_SIGNALS:
    void loadingStarted(const QString& path);
    void loaded(const QString& path, int tensorCount);
    // A message naming the file and the problem, fit to show as is.
    void failed(const QString& message);

private:
    struct LoadResult;
    static LoadResult load(const QString& path);
    void finishLoad(quint64 generation, const LoadResult& result);
    void updateSummary();
    void copySelectedNames();

    TensorTableModel* m_model = nullptr;
    QSortFilterProxyModel* m_proxy = nullptr;
    QTableView* m_table = nullptr;
    QLineEdit* m_filterEdit = nullptr;
    QLabel* m_sourceLabel = nullptr;
    QLabel* m_summaryLabel = nullptr;
    QAction* m_focusFilterAction = nullptr;

    CheckpointSummary m_summary;
    QString m_pendingPath;
    quint64 m_generation = 0;
};

} // namespace specvla::app
