// SPDX-License-Identifier: MIT
#pragma once

// Relocating a session's inputs (workbench-ux.md: "warn, do not crash, when data is missing"). When a session
// names a model, draft head or episode file that no longer exists, this dialog lists them, one row each, and
// lets the user point every one at its new place (typed, or through "Browse…"). Choosing one new place
// proposes the others: moved folders usually move together, so the same folder move is applied to every
// unresolved row and kept where the moved path exists. OK is enabled only when every row has a replacement
// that exists (a folder for a folder, a file for a file). The caller opens the session with the replacements
// on OK and leaves the window untouched on Cancel.
#include <QDialog>
#include <QList>
#include <QString>
#include <QVector>

class QLabel;
class QPushButton;
class QTableWidget;

namespace specvla::session {
struct Session;
}

namespace specvla::app {

struct MissingInput {
    QString kind; // shown as is: "Model", "Draft head", "Episodes"
    QString path; // the absolute path the session names
    bool isFolder = false;
};

class RelocateDialog : public QDialog {
    Q_OBJECT
public:
    enum Column { KindColumn, OldPathColumn, NewPathColumn, BrowseColumn };

    RelocateDialog(const QString& sessionPath, const QList<MissingInput>& missing, QWidget* parent = nullptr);

    int rowCount() const { return static_cast<int>(m_missing.size()); }
    const MissingInput& missing(int row) const { return m_missing.at(row); }

    // Sets row's new path (an empty path clears it). When it exists with the right type, the same folder move
    // is proposed for every other row that is not resolved yet; a proposal is taken only when it exists.
    void setReplacement(int row, const QString& path);
    // The path set for row (cleaned, '/' separators), whether or not it exists; empty when none.
    QString replacement(int row) const;
    // True when row's replacement exists as a folder (isFolder) or a file.
    bool isResolved(int row) const;
    bool allResolved() const;

    // Writes every resolved replacement into s where s names the missing path (model, draft or episodes).
    void applyTo(session::Session& s) const;

    // The inputs of s that do not exist: the model and draft head folders and the episode file.
    static QList<MissingInput> missingInputs(const session::Session& s);

    // The path oldOther takes when oldChanged moved to newChanged: the longest common tail of the two paths
    // is taken as the part that stayed, what precedes it as the folder that moved, and oldOther moves with it
    // when it lies inside that folder. Empty when oldOther is outside it or nothing moved. E.g.
    // (/a/b/model, /x/b/model, /a/b/episodes/e.hdf5) -> /x/b/episodes/e.hdf5.
    static QString proposeMove(const QString& oldChanged, const QString& newChanged, const QString& oldOther);

private:
    void browse(int row);
    void storeReplacement(int row, const QString& path, bool proposed);
    void updateRow(int row);
    void updateOk();

    QVector<MissingInput> m_missing;
    QVector<QString> m_replacements;
    QVector<bool> m_proposed;
    QLabel* m_message = nullptr;
    QTableWidget* m_table = nullptr;
    QPushButton* m_ok = nullptr;
    bool m_updating = false; // set while the table is filled from code, so itemChanged is not an edit
};

} // namespace specvla::app
