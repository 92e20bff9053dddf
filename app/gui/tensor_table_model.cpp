// SPDX-License-Identifier: MIT
#include "gui/tensor_table_model.h"

#include "io/checkpoint.h"

#include <QFileInfo>
#include <QLocale>

#include <utility>

namespace specvla::app {

TensorTableModel::TensorTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void TensorTableModel::setTensors(QVector<TensorRow> rows) {
    beginResetModel();
    m_rows = std::move(rows);
    endResetModel();
}

void TensorTableModel::clear() {
    setTensors({});
}

int TensorTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int TensorTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TensorTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() < 0 || index.row() >= m_rows.size()) return {};
    const TensorRow& row = m_rows.at(index.row());
    const int column = index.column();

    if (role == Qt::DisplayRole) {
        switch (column) {
        case NameColumn:
            return row.name;
        case DTypeColumn:
            return row.dtype;
        case ShapeColumn:
            return row.shape;
        case BytesColumn:
            return formatBytes(row.bytes);
        case ShardColumn:
            return shardLabel(row.shardName);
        default:
            return {};
        }
    }
    if (role == Qt::UserRole) {
        switch (column) {
        case NameColumn:
            return row.name;
        case DTypeColumn:
            return row.dtype;
        case ShapeColumn:
            return row.numel;
        case BytesColumn:
            return row.bytes;
        case ShardColumn:
            return row.shard;
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (column) {
        case NameColumn:
            return row.name;
        case ShapeColumn:
            return tr("%1 elements").arg(QLocale().toString(row.numel));
        case BytesColumn:
            return tr("%1 bytes").arg(QLocale().toString(row.bytes));
        case ShardColumn:
            return row.shardPath;
        default:
            return {};
        }
    }
    if (role == Qt::TextAlignmentRole && column == BytesColumn)
        return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
    return {};
}

QString TensorTableModel::shardLabel(const QString& fileName) {
    // Every shard is a .safetensors file, so the suffix tells nothing and would push the distinctive
    // "-00001-of-00003" out of a narrow column; the tooltip keeps the full path.
    static const QLatin1String suffix(".safetensors");
    if (fileName.size() > suffix.size() && fileName.endsWith(suffix, Qt::CaseInsensitive))
        return fileName.left(fileName.size() - suffix.size());
    return fileName;
}

QVariant TensorTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case NameColumn:
        return tr("Name");
    case DTypeColumn:
        return tr("DType");
    case ShapeColumn:
        return tr("Shape");
    case BytesColumn:
        return tr("Bytes");
    case ShardColumn:
        return tr("Shard");
    default:
        return {};
    }
}

QVector<TensorRow> TensorTableModel::rowsFromCheckpoint(const specvla::io::Checkpoint& checkpoint) {
    QVector<QString> shardNames;
    QVector<QString> shardPaths;
    for (const std::string& path : checkpoint.shardPaths()) {
        const QString qpath = QString::fromStdString(path);
        shardPaths.push_back(qpath);
        shardNames.push_back(QFileInfo(qpath).fileName());
    }

    QVector<TensorRow> rows;
    rows.reserve(static_cast<int>(checkpoint.tensors().size()));
    for (const specvla::io::CheckpointEntry& entry : checkpoint.tensors()) {
        TensorRow row;
        row.name = QString::fromStdString(entry.info.name);
        row.dtype = QString::fromLatin1(specvla::io::dtypeName(entry.info.dtype));
        row.shape = QString::fromStdString(entry.info.shapeString());
        row.numel = entry.info.numel();
        row.bytes = entry.info.byteSize();
        row.shard = static_cast<int>(entry.shard);
        if (row.shard >= 0 && row.shard < shardNames.size()) {
            row.shardName = shardNames.at(row.shard);
            row.shardPath = shardPaths.at(row.shard);
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

QString TensorTableModel::formatBytes(quint64 bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return QStringLiteral("%1 B").arg(bytes);
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024.0 && unit < 6) {
        value /= 1024.0;
        ++unit;
    }
    // Three significant digits; rounding 1023.9 KiB up would print "1024 KiB", which is fine to read.
    const int decimals = value < 10.0 ? 2 : (value < 100.0 ? 1 : 0);
    return QStringLiteral("%1 %2").arg(value, 0, 'f', decimals).arg(QLatin1String(units[unit]));
}

} // namespace specvla::app
