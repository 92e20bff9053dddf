// SPDX-License-Identifier: MIT
#include "gui/session_controller.h"

#include "bin_distance_plot.h"
#include "draft_tree_view.h"
#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/undo_commands.h"
#include "message_bar.h"

#include <QDir>
#include <QFileInfo>
#include <QSlider>
#include <QUndoStack>

#include <exception>
#include <tuple>

namespace specvla::app {

namespace {

// What the controls could not show of a session's settings (their ranges are narrower than the file's).
QStringList clampedFields(const decode::DecodeSettings& wanted, const decode::DecodeSettings& shown) {
    QStringList out;
    auto check = [&](const char* name, int a, int b) {
        if (a != b) out << QStringLiteral("%1 %2 → %3").arg(QLatin1String(name)).arg(a).arg(b);
    };
    check("margin", wanted.margin, shown.margin);
    if (wanted.marginPerDim && shown.marginPerDim)
        for (int d = 0; d < 7; ++d)
            check("per-dimension margin", (*wanted.marginPerDim)[d], (*shown.marginPerDim)[d]);
    check("top-k", wanted.tree.topK, shown.tree.topK);
    check("depth", wanted.tree.depth, shown.tree.depth);
    check("total tokens", wanted.tree.totalTokens, shown.tree.totalTokens);
    return out;
}

} // namespace

SessionController::SessionController(DecodeController* decode, widgets::MessageBar* messages, QObject* parent)
    : QObject(parent), m_decode(decode), m_messages(messages), m_undo(new QUndoStack(this)) {
    connect(m_undo, &QUndoStack::cleanChanged, this, &SessionController::updateModified);
    if (DecodeControls* c = m_decode->views().controls) {
        m_lastSettings = c->settings();
        connect(c, &DecodeControls::settingsChanged, this, &SessionController::onSettingsEdited);
        // One drag of the margin slider is one undo step: its commands share a drag id and merge.
        connect(c->marginSlider(), &QSlider::sliderPressed, this, [this] { m_dragId = ++m_dragCounter; });
        connect(c->marginSlider(), &QSlider::sliderReleased, this, [this] { m_dragId = 0; });
    }
}

void SessionController::onSettingsEdited(const decode::DecodeSettings& settings) {
    if (m_applying || settings == m_lastSettings) {
        m_lastSettings = settings;
        return;
    }
    const decode::DecodeSettings before = m_lastSettings;
    m_lastSettings = settings;
    m_undo->push(new SettingsCommand(before, settings, m_dragId,
                                     [this](const decode::DecodeSettings& s) { applySettings(s); }));
}

void SessionController::applySettings(const decode::DecodeSettings& settings) {
    DecodeControls* c = m_decode->views().controls;
    if (!c) return;
    m_applying = true;
    c->applySettings(settings); // settingsChanged: the decoder follows
    m_applying = false;
    m_lastSettings = c->settings();
}

void SessionController::applyBookmark(int step, const std::optional<session::Bookmark>& bookmark) {
    if (bookmark)
        session::setBookmark(m_bookmarks, *bookmark);
    else
        session::removeBookmark(m_bookmarks, step);
    Q_EMIT bookmarksChanged();
}

void SessionController::setBookmark(int step, const QString& note) {
    if (step < 0) return;
    const session::Bookmark* existing = session::findBookmark(m_bookmarks, step);
    std::optional<session::Bookmark> before;
    if (existing) before = *existing;
    const session::Bookmark after{step, note.toStdString()};
    if (before && *before == after) return;
    m_undo->push(
        new BookmarkCommand(step, before, after, [this](int s, const std::optional<session::Bookmark>& b) {
            applyBookmark(s, b);
        }));
}

void SessionController::removeBookmark(int step) {
    const session::Bookmark* existing = session::findBookmark(m_bookmarks, step);
    if (!existing) return;
    m_undo->push(new BookmarkCommand(
        step, *existing, std::nullopt,
        [this](int s, const std::optional<session::Bookmark>& b) { applyBookmark(s, b); }));
}

void SessionController::setNotes(const QString& notes) {
    if (notes == m_notes) return;
    m_notes = notes;
    m_notesModified = true;
    Q_EMIT notesChanged(m_notes);
    updateModified();
}

bool SessionController::isModified() const {
    return !m_undo->isClean() || m_notesModified;
}

void SessionController::markSaved() {
    m_undo->clear(); // clear() also makes the stack clean
    m_notesModified = false;
    updateModified();
}

void SessionController::markModified() {
    m_notesModified = true;
    updateModified();
}

void SessionController::updateModified() {
    const bool modified = isModified();
    if (modified == m_lastModified) return;
    m_lastModified = modified;
    Q_EMIT modifiedChanged(modified);
}

bool SessionController::relocate(session::Session& s, const QString& path) {
    QList<SessionInput> missing;
    auto check = [&](const std::string& p, const QString& kind, bool folder) {
        const QString q = QString::fromStdString(p);
        if (q.isEmpty() || QFileInfo::exists(q)) return;
        m_missing << q;
        missing.append({kind, q, folder});
    };
    check(s.model, tr("Model"), true);
    if (s.draft) check(*s.draft, tr("Draft head"), true);
    check(s.episodes, tr("Episodes"), false);
    if (missing.isEmpty()) return true;

    std::optional<QStringList> replacements;
    if (m_relocator) replacements = m_relocator(path, missing);
    bool ok = replacements && replacements->size() == missing.size();
    for (int i = 0; ok && i < missing.size(); ++i)
        ok = !(*replacements)[i].isEmpty() && QFileInfo::exists((*replacements)[i]);
    if (!ok) {
        QStringList problems;
        for (const SessionInput& in : missing)
            problems << tr("%1 %2 does not exist").arg(in.kind, QDir::toNativeSeparators(in.path));
        // Open and apply none of it: a half-opened session would decode something else than it describes.
        if (m_messages)
            m_messages->showError(
                tr("Session %1 was not opened: %2. Relocate the files when asked, or open the "
                   "inputs with File ▸ Open Model / Draft Head / Episode.")
                    .arg(QDir::toNativeSeparators(path), problems.join(QStringLiteral("; "))));
        return false;
    }
    for (int i = 0; i < missing.size(); ++i) {
        const std::string to = QFileInfo((*replacements)[i]).absoluteFilePath().toStdString();
        const std::string from = missing[i].path.toStdString();
        if (s.model == from) s.model = to;
        if (s.draft && *s.draft == from) s.draft = to;
        if (s.episodes == from) s.episodes = to;
    }
    return true;
}

bool SessionController::open(const QString& path, std::optional<int> stepOverride) {
    session::Session s;
    try {
        s = session::readSession(QDir::toNativeSeparators(path).toStdString());
    } catch (const std::exception& e) {
        if (m_messages)
            m_messages->showError(tr("Cannot open the session: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    m_missing.clear();
    QObject::disconnect(m_pendingStep);
    m_pendingView.reset();
    if (!relocate(s, path)) return false; // its inputs are missing and were not relocated: nothing opened
    const bool relocated = !m_missing.isEmpty();
    m_path = QFileInfo(path).absoluteFilePath();

    if (DecodeControls* c = m_decode->views().controls) {
        c->setUnnormKey(s.unnormKey ? QString::fromStdString(*s.unnormKey) : QString());
        applySettings(s.settings);
        const QStringList clamped = clampedFields(s.settings, c->settings());
        if (!clamped.isEmpty() && m_messages)
            m_messages->showWarning(
                tr("The session's settings exceed the controls' ranges and were limited: %1")
                    .arg(clamped.join(QStringLiteral(", "))));
    }
    m_bookmarks = s.bookmarks;
    m_notes = QString::fromStdString(s.notes);
    markSaved();
    Q_EMIT bookmarksChanged();
    Q_EMIT notesChanged(m_notes);
    if (relocated) {
        markModified(); // the new paths are not in the file yet
        if (m_messages)
            m_messages->showInfo(
                tr("Opened %1 with relocated inputs; save the session to keep the new paths.")
                    .arg(QDir::toNativeSeparators(path)));
    }

    const QString model = QString::fromStdString(s.model);
    const QString draft = s.draft ? QString::fromStdString(*s.draft) : QString();
    m_decode->openModel(model, draft);
    if (auto* plot = m_decode->views().binDistance) plot->setDimension(s.dimension);
    const int step = stepOverride.value_or(s.step);
    const int round = s.round;
    // Until the episode and the step's trace arrive, a save (or autosave, or report) stores these, not the
    // cursor of whatever was shown before.
    m_pendingView = std::make_pair(step, round);
    m_pendingStepApplied = false;
    m_pendingStep = connect(m_decode, &DecodeController::episodeReady, this, [this, step, round](int) {
        QObject::disconnect(m_pendingStep);
        m_decode->setCurrentStep(step);
        m_pendingStepApplied = true;
        // The tree's round exists once the step's trace has arrived.
        auto once = std::make_shared<QMetaObject::Connection>();
        *once = connect(m_decode, &DecodeController::currentStepViewsUpdated, this, [this, once, round](int) {
            QObject::disconnect(*once);
            if (auto* tree = m_decode->views().tree) tree->setRound(round);
            m_pendingView.reset();
        });
    });
    m_decode->openEpisode(QString::fromStdString(s.episodes));
    Q_EMIT opened(m_path);
    return true;
}

bool SessionController::canSave() const {
    return !m_decode->modelDir().isEmpty() && !m_decode->episodePath().isEmpty();
}

session::Session SessionController::current() const {
    session::Session s;
    s.model = m_decode->modelDir().toStdString();
    if (!m_decode->draftDir().isEmpty()) s.draft = m_decode->draftDir().toStdString();
    s.episodes = m_decode->episodePath().toStdString();
    if (const DecodeControls* c = m_decode->views().controls; c && !c->unnormKey().isEmpty())
        s.unnormKey = c->unnormKey().toStdString();
    s.settings = m_decode->settings();
    s.step = m_decode->currentStep();
    if (const auto* tree = m_decode->views().tree) s.round = tree->round();
    if (m_pendingView) {
        // Before the episode is ready the cursor is not the session's yet; after it, the round waits for the
        // step's trace (unless the user has moved on to another step).
        if (!m_pendingStepApplied)
            std::tie(s.step, s.round) = *m_pendingView;
        else if (s.step == m_pendingView->first)
            s.round = m_pendingView->second;
    }
    if (const auto* plot = m_decode->views().binDistance) s.dimension = plot->dimension();
    s.bookmarks = m_bookmarks;
    s.notes = m_notes.toStdString();
    return s;
}

bool SessionController::save(const QString& path) {
    if (!canSave()) {
        if (m_messages)
            m_messages->showWarning(tr("Nothing to save yet: open a model and an episode first."));
        return false;
    }
    try {
        session::writeSession(path.toStdString(), current());
    } catch (const std::exception& e) {
        if (m_messages)
            m_messages->showError(tr("Cannot save the session: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    m_path = QFileInfo(path).absoluteFilePath();
    m_undo->setClean();
    m_notesModified = false;
    updateModified();
    Q_EMIT saved(m_path);
    return true;
}

} // namespace specvla::app
