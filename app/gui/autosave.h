// SPDX-License-Identifier: MIT
#pragma once

// Crash recovery for sessions. Each running window owns one Autosave: a unique file in the autosave folder
// (autosave-<uuid>.specvla.json, an ordinary session file, written atomically), a small metadata file beside
// it (autosave-<uuid>.meta.json: original session path, pid, time) and a lock file (autosave-<uuid>.lock)
// held for the instance's lifetime. Another instance tells a live autosave (lock held by a running process)
// from an orphan (no lock, or a stale one left by a crashed process) and offers only orphans for recovery.
//
// The window decides what becomes of the files: destroying an Autosave releases its lock but keeps the
// files, so a window that closes without calling discard() leaves a recoverable copy, exactly as a crash
// does. Call discard() after an explicit save and on a clean close once the user has saved or declined.
#include "session/session_file.h"

#include <QDateTime>
#include <QList>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

class QLockFile;
class QTimer;

namespace specvla::app {

class Autosave : public QObject {
    Q_OBJECT
public:
    // dir is created when missing.
    explicit Autosave(const QString& dir = defaultDir(), QObject* parent = nullptr);
    ~Autosave() override; // releases the lock, keeps the files (see above)

    // QStandardPaths::AppLocalDataLocation + "/autosave".
    static QString defaultDir();

    // Returns the session to write, or nullopt when there is nothing worth saving (no model or episode).
    void setSnapshotProvider(std::function<std::optional<session::Session>()> provider);
    // The session file the user opened or saved last, or empty; recorded in the metadata on the next save.
    void setOriginalPath(const QString& sessionPath);
    QString originalPath() const { return m_originalPath; }

    // Delay between the first unsaved change and the autosave (seconds, at least 1). setIntervalMs is for
    // tests and takes milliseconds (at least 1).
    void setInterval(int seconds);
    void setIntervalMs(int milliseconds);
    int intervalMs() const;
    // Disabling stops a pending autosave; files already written stay until discard().
    void setEnabled(bool enabled);
    bool isEnabled() const { return m_enabled; }

    // Something changed since the last autosave: starts the timer unless it is already running (so a stream
    // of edits still autosaves one interval after the first); on timeout, if still dirty, saveNow().
    void markDirty();
    bool isDirty() const { return m_dirty; }

    // Writes the snapshot now (when the provider gives one) plus the metadata. False when there is nothing to
    // write or writing failed (lastError() says why; failed() is emitted). Works when disabled too.
    bool saveNow();
    // Removes this instance's autosave and metadata files and clears the dirty flag; keeps the lock.
    void discard();

    // This instance's autosave file (it may not exist yet).
    QString autosavePath() const;
    QString metadataPath() const;
    QString lockPath() const;
    // False when the lock could not be taken (e.g. the folder is not writable); saveNow() then fails.
    bool isLocked() const;
    QString lastError() const { return m_lastError; }

    struct Recoverable {
        QString autosavePath;
        QString originalPath; // empty when the session had never been saved, or the metadata is unreadable
        QDateTime savedAt;    // from the metadata; the file's modification time when that is unreadable
    };
    // Orphaned autosaves in dir, newest first; the files of running instances (this process's included) are
    // not listed. An autosave whose session file does not read as a session is skipped (and left on disk);
    // one whose metadata alone is corrupt is listed with an empty originalPath.
    static QList<Recoverable> findRecoverable(const QString& dir = defaultDir());
    // Removes the autosave, its metadata and its stale lock.
    static void discardRecoverable(const Recoverable& recoverable);

Q_SIGNALS:
    void saved(const QString& autosavePath);
    void failed(const QString& message);

private:
    void onTimeout();

    QString m_dir;
    QString m_stem; // "autosave-<uuid>"
    std::unique_ptr<QLockFile> m_lock;
    QTimer* m_timer = nullptr;
    std::function<std::optional<session::Session>()> m_provider;
    QString m_originalPath;
    QString m_lastError;
    bool m_enabled = true;
    bool m_dirty = false;
};

} // namespace specvla::app
