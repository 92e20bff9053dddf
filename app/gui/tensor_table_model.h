// SPDX-License-Identifier: MIT
#pragma once

#include <QAbstractTableModel>
#include <QString>
#include <QVector>

namespace specvla::io {
class Checkpoint;
}

namespace specvla::app {

// One tensor of a checkpoint as the inspector shows it: plain Qt values, so rows can be built in a worker
// thread and handed to the UI thread.
struct TensorRow {
    QString name;
    QString dtype;
    QString shape; // "[4096, 11008]"
    qint64 numel = 0;
    quint64 bytes = 0;
    int shard = 0;     // index into the shard list
    QString shardName; // file name of the shard
    QString shardPath; // full path of the shard
};

// The checkpoint's tensors as a table: Name, DType, Shape, Bytes, Shard. DisplayRole holds what a person
// reads (bytes as "1.5 MiB", the shard's file name without ".safetensors"; the tooltip has its path);
// Qt::UserRole holds the value to sort by (raw byte count, element count for shapes, shard index), so wrap
// the model in a QSortFilterProxyModel with sortRole Qt::UserRole.
class TensorTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { NameColumn, DTypeColumn, ShapeColumn, BytesColumn, ShardColumn, ColumnCount };

    explicit TensorTableModel(QObject* parent = nullptr);

    void setTensors(QVector<TensorRow> rows);
    void clear();
    const QVector<TensorRow>& tensors() const { return m_rows; }

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    int columnCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Rows of every tensor of an opened checkpoint, in the checkpoint's (name) order. Thread-safe.
    static QVector<TensorRow> rowsFromCheckpoint(const specvla::io::Checkpoint& checkpoint);
    // "0 B", "512 B", "1.5 KiB", "14.2 GiB": binary units, three significant digits.
    static QString formatBytes(quint64 bytes);
    // A shard's file name as the Shard column shows it: "model-00001-of-00003" for
    // "model-00001-of-00003.safetensors".
    static QString shardLabel(const QString& fileName);

private:
    QVector<TensorRow> m_rows;
};

} // namespace specvla::app
