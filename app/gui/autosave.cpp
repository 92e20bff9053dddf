// SPDX-License-Identifier: MIT
#include "gui/autosave.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLockFile>
#include <QSaveFile>
#include <QStandardPaths>
#include <QTimer>
#include <QUuid>

#include <algorithm>
#include <exception>

namespace specvla::app {

namespace {

const QLatin1String kPrefix("autosave-");
const QLatin1String kSessionSuffix(".specvla.json");
const QLatin1String kMetaSuffix(".meta.json");
const QLatin1String kLockSuffix(".lock");
const QLatin1String kMetaFormat("specvla-autosave");
constexpr int kMetaVersion = 1;
constexpr int kDefaultIntervalMs = 60 * 1000;

// "autosave-<uuid>" from ".../autosave-<uuid>.specvla.json"; empty for any other name.
QString stemOf(const QString& sessionPath) {
    const QString name = QFileInfo(sessionPath).fileName();
    if (!name.startsWith(kPrefix) || !name.endsWith(kSessionSuffix)) return {};
    return name.left(name.size() - kSessionSuffix.size());
}

// A lock that treats only a dead owner (or a reboot) as stale. QLockFile's default also calls any lock older
// than 30 s stale; on Linux the flock() it holds still protects a live owner, but where that is missing
// (some network file systems, other platforms) a live instance's autosave would look orphaned.
std::unique_ptr<QLockFile> makeLock(const QString& path) {
    auto lock = std::make_unique<QLockFile>(path);
    lock->setStaleLockTime(0);
    return lock;
}

std::string nativePath(const QString& path) {
    return QDir::toNativeSeparators(path).toStdString();
}

} // namespace

Autosave::Autosave(const QString& dir, QObject* parent)
    : QObject(parent), m_dir(QDir(dir).absolutePath()),
      m_stem(kPrefix + QUuid::createUuid().toString(QUuid::WithoutBraces)) {
    m_timer = new QTimer(this);
    m_timer->setSingleShot(true);
    m_timer->setInterval(kDefaultIntervalMs);
    connect(m_timer, &QTimer::timeout, this, &Autosave::onTimeout);

    QDir().mkpath(m_dir);
    m_lock = makeLock(lockPath());
    if (!m_lock->tryLock(0))
        m_lastError = tr("Cannot create the autosave lock %1.").arg(QDir::toNativeSeparators(lockPath()));
}

Autosave::~Autosave() {
    // Keep the files: whether they are still needed is the window's call (discard()), and a copy left behind
    // by a window that forgot is better than a lost session.
    if (m_lock) m_lock->unlock();
}

QString Autosave::defaultDir() {
    return QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) +
           QStringLiteral("/autosave");
}

void Autosave::setSnapshotProvider(std::function<std::optional<session::Session>()> provider) {
    m_provider = std::move(provider);
}

void Autosave::setOriginalPath(const QString& sessionPath) {
    m_originalPath = sessionPath.isEmpty() ? QString() : QFileInfo(sessionPath).absoluteFilePath();
}

void Autosave::setInterval(int seconds) {
    setIntervalMs(std::max(1, seconds) * 1000);
}

void Autosave::setIntervalMs(int milliseconds) {
    m_timer->setInterval(std::max(1, milliseconds));
}

int Autosave::intervalMs() const {
    return m_timer->interval();
}

void Autosave::setEnabled(bool enabled) {
    m_enabled = enabled;
    if (!enabled)
        m_timer->stop();
    else if (m_dirty && !m_timer->isActive())
        m_timer->start();
}

void Autosave::markDirty() {
    m_dirty = true;
    if (m_enabled && !m_timer->isActive()) m_timer->start();
}

void Autosave::onTimeout() {
    if (m_enabled && m_dirty) saveNow();
}

bool Autosave::saveNow() {
    if (!isLocked()) {
        // Without the lock another instance would take the file for an orphan and offer to recover it.
        if (m_lastError.isEmpty()) m_lastError = tr("The autosave folder %1 is not writable.").arg(m_dir);
        Q_EMIT failed(m_lastError);
        return false;
    }
    if (!m_provider) return false;
    const std::optional<session::Session> snapshot = m_provider();
    if (!snapshot) return false;
    try {
        session::writeSession(nativePath(autosavePath()), *snapshot);
    } catch (const std::exception& e) {
        m_lastError = tr("Cannot write the autosave: %1").arg(QString::fromStdString(e.what()));
        Q_EMIT failed(m_lastError);
        return false;
    }

    QJsonObject meta;
    meta.insert(QStringLiteral("format"), kMetaFormat);
    meta.insert(QStringLiteral("version"), kMetaVersion);
    meta.insert(QStringLiteral("session"), QFileInfo(autosavePath()).fileName());
    meta.insert(QStringLiteral("original"), m_originalPath);
    meta.insert(QStringLiteral("pid"), QCoreApplication::applicationPid());
    meta.insert(QStringLiteral("saved_at"), QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs));
    QSaveFile file(metadataPath());
    if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(meta).toJson()) < 0 || !file.commit()) {
        m_lastError =
            tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(metadataPath()), file.errorString());
        Q_EMIT failed(m_lastError);
        return false;
    }
    m_lastError.clear();
    m_dirty = false;
    m_timer->stop();
    Q_EMIT saved(autosavePath());
    return true;
}

void Autosave::discard() {
    m_timer->stop();
    m_dirty = false;
    QFile::remove(autosavePath());
    QFile::remove(metadataPath());
}

QString Autosave::autosavePath() const {
    return m_dir + QLatin1Char('/') + m_stem + kSessionSuffix;
}
QString Autosave::metadataPath() const {
    return m_dir + QLatin1Char('/') + m_stem + kMetaSuffix;
}
QString Autosave::lockPath() const {
    return m_dir + QLatin1Char('/') + m_stem + kLockSuffix;
}

bool Autosave::isLocked() const {
    return m_lock && m_lock->isLocked();
}

QList<Autosave::Recoverable> Autosave::findRecoverable(const QString& dir) {
    QList<Recoverable> found;
    const QDir folder(dir);
    const QFileInfoList files =
        folder.entryInfoList({kPrefix + QLatin1Char('*') + kSessionSuffix}, QDir::Files, QDir::Name);
    for (const QFileInfo& info : files) {
        const QString stem = stemOf(info.fileName());
        if (stem.isEmpty()) continue;
        // Taking the lock succeeds only when no running process holds it (a crashed one's is stale).
        const auto lock = makeLock(folder.filePath(stem + kLockSuffix));
        if (!lock->tryLock(0)) continue;
        lock->unlock();

        try {
            session::readSession(nativePath(info.absoluteFilePath()));
        } catch (...) {
            continue; // nothing to recover from a file that does not read
        }

        Recoverable r;
        r.autosavePath = info.absoluteFilePath();
        r.savedAt = info.lastModified().toUTC();
        QFile metaFile(folder.filePath(stem + kMetaSuffix));
        if (metaFile.open(QIODevice::ReadOnly) && metaFile.size() < (1 << 20)) {
            const QJsonObject meta = QJsonDocument::fromJson(metaFile.readAll()).object();
            if (meta.value(QStringLiteral("format")).toString() == kMetaFormat) {
                r.originalPath = meta.value(QStringLiteral("original")).toString();
                const QDateTime at = QDateTime::fromString(meta.value(QStringLiteral("saved_at")).toString(),
                                                           Qt::ISODateWithMs);
                if (at.isValid()) r.savedAt = at.toUTC();
            }
        }
        found.append(r);
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const Recoverable& a, const Recoverable& b) { return a.savedAt > b.savedAt; });
    return found;
}

void Autosave::discardRecoverable(const Recoverable& recoverable) {
    const QString stem = stemOf(recoverable.autosavePath);
    if (stem.isEmpty()) return;
    const QDir folder = QFileInfo(recoverable.autosavePath).absoluteDir();
    // Hold the lock while removing, and never touch the files of a live instance.
    const auto lock = makeLock(folder.filePath(stem + kLockSuffix));
    if (!lock->tryLock(0)) return;
    QFile::remove(recoverable.autosavePath);
    QFile::remove(folder.filePath(stem + kMetaSuffix));
    lock->unlock();
}

} // namespace specvla::app
